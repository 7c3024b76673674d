// Every data command, by lowercase name: the server merges these into its command table and the
// state machine dispatches committed entries (and redis.call) through them.

import type { CommandDef } from '../command_spec';
import type { DataHandler } from './define';
import { keyCommands } from './keys';
import { lockCommands } from './locks';
import { pubsubDataCommands } from './pubsub';
import { scriptingCommands } from './scripting';
import { serverDataCommands } from './server_data';
import { setCommands } from './sets';
import { stringCommands } from './strings';
import { zsetCommands } from './zsets';

function collect(...families: ReadonlyArray<ReadonlyArray<CommandDef<DataHandler>>>): ReadonlyMap<string, CommandDef<DataHandler>> {
  const map = new Map<string, CommandDef<DataHandler>>();
  for (const family of families) {
    for (const def of family) {
      if (map.has(def.name)) throw new Error(`data command '${def.name}' is declared twice`);
      map.set(def.name, def);
    }
  }
  return map;
}

export const dataCommands: ReadonlyMap<string, CommandDef<DataHandler>> = collect(
  stringCommands,
  keyCommands,
  lockCommands,
  zsetCommands,
  setCommands,
  pubsubDataCommands,
  scriptingCommands,
  serverDataCommands,
);

export type { DataHandler };
