// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE and PUBSUB introspection (PUBLISH is a data
// command: it goes through the log so that subscribers on every node receive it).
//
// Each (un)subscription is confirmed with its own reply, a push frame in RESP3 and an array in
// RESP2, exactly like Redis, so one command may answer several times.

import { PushReply, type Reply } from '../../resp/reply';
import type { CommandDef } from '../../locks/command_spec';
import type { CommandContext, ServerHandler } from '../command_table';
import { ReplySequence } from '../reply_sequence';
import { container, define } from './define';

function confirm(kind: string, name: string | null, count: number): PushReply {
  return new PushReply([kind, name, count]);
}

function subscribe({ client, server }: CommandContext, argv: string[]): ReplySequence {
  const out: Reply[] = [];
  for (const channel of argv.slice(1)) {
    server.pubsub.subscribe(client, channel);
    out.push(confirm('subscribe', channel, client.subscriptionCount));
  }
  return new ReplySequence(out);
}

function psubscribe({ client, server }: CommandContext, argv: string[]): ReplySequence {
  const out: Reply[] = [];
  for (const pattern of argv.slice(1)) {
    server.pubsub.psubscribe(client, pattern);
    out.push(confirm('psubscribe', pattern, client.subscriptionCount));
  }
  return new ReplySequence(out);
}

function unsubscribe({ client, server }: CommandContext, argv: string[]): ReplySequence {
  const channels = argv.length > 1 ? argv.slice(1) : [...client.subscriptions];
  if (channels.length === 0) return new ReplySequence([confirm('unsubscribe', null, client.subscriptionCount)]);
  const out: Reply[] = [];
  for (const channel of channels) {
    server.pubsub.unsubscribe(client, channel);
    out.push(confirm('unsubscribe', channel, client.subscriptionCount));
  }
  return new ReplySequence(out);
}

function punsubscribe({ client, server }: CommandContext, argv: string[]): ReplySequence {
  const patterns = argv.length > 1 ? argv.slice(1) : [...client.patterns];
  if (patterns.length === 0) return new ReplySequence([confirm('punsubscribe', null, client.subscriptionCount)]);
  const out: Reply[] = [];
  for (const pattern of patterns) {
    server.pubsub.punsubscribe(client, pattern);
    out.push(confirm('punsubscribe', pattern, client.subscriptionCount));
  }
  return new ReplySequence(out);
}

export const pubsubCommands: ReadonlyArray<CommandDef<ServerHandler>> = [
  define('subscribe', -2, ['pubsub', 'noscript', 'loading', 'stale'], 'Listens for messages published to channels.', subscribe, {
    group: 'pubsub',
  }),
  define('unsubscribe', -1, ['pubsub', 'noscript', 'loading', 'stale'], 'Stops listening to messages posted to channels.', unsubscribe, {
    group: 'pubsub',
  }),
  define('psubscribe', -2, ['pubsub', 'noscript', 'loading', 'stale'], 'Listens for messages published to channels that match patterns.', psubscribe, {
    group: 'pubsub',
  }),
  define('punsubscribe', -1, ['pubsub', 'noscript', 'loading', 'stale'], 'Stops listening to messages published to channels that match patterns.', punsubscribe, {
    group: 'pubsub',
  }),
  container('pubsub', 'A container for Pub/Sub commands.', 'pubsub', [
    define('pubsub|channels', -2, ['pubsub', 'loading', 'stale'], 'Returns the active channels.', ({ server }, argv) =>
      server.pubsub.channelNames(argv.length > 2 ? argv[2] : null),
    ),
    define('pubsub|numsub', -2, ['pubsub', 'loading', 'stale'], 'Returns a count of subscribers to channels.', ({ server }, argv) => {
      const out: Reply[] = [];
      for (const channel of argv.slice(2)) out.push(channel, server.pubsub.subscriberCount(channel));
      return out;
    }),
    define('pubsub|numpat', 2, ['pubsub', 'loading', 'stale'], 'Returns a count of unique pattern subscriptions.', ({ server }) =>
      server.pubsub.patternCount(),
    ),
  ]),
];
