// PUBLISH is a write: it goes through the log so every replica delivers to its own subscribers,
// and a subscriber connected to any node receives it. The reply is this node's receiver count.

import type { CommandDef } from '../command_spec';
import { dataCommand, type DataHandler } from './define';

const publish: DataHandler = (state, argv) => state.env.events.publish(argv[1], argv[2]);

export const pubsubDataCommands: ReadonlyArray<CommandDef<DataHandler>> = [
  dataCommand('publish', 3, ['write', 'pubsub', 'fast', 'loading', 'stale'], 'pubsub', 'Posts a message to a channel.', publish),
];
