// The dispatcher: looks a command up, checks it once (existence, subcommand, arity, auth,
// subscriber mode), then runs a server handler or routes a data command to the replicated node
// (writes through the log, reads through ReadIndex).
//
// Error texts are Redis's, byte for byte: clients and lock libraries match on them.

import { arityOk } from '../locks/command_spec';
import { ErrorReply, Errors, type Reply } from '../resp/reply';
import type { Client } from './client';
import type { TableEntry } from './command_table';
import type { ServerApi } from './server_api';
import type { ReplySequence } from './reply_sequence';
import type { ReplyOrLater } from './pending_reply';

const SUBSCRIBER_ALLOWED = new Set(['subscribe', 'ssubscribe', 'psubscribe', 'unsubscribe', 'sunsubscribe', 'punsubscribe', 'ping', 'quit', 'reset']);

export function dispatch(server: ServerApi, client: Client, argv: string[]): ReplyOrLater | ReplySequence {
  server.stats.commandsProcessed++;
  const name = argv[0].toLowerCase();
  let entry = server.commands.get(name);
  if (entry === undefined) return unknownCommand(argv);

  if (entry.subcommands !== null) {
    if (argv.length < 2) return Errors.wrongArity(entry.spec.name);
    const sub = entry.subcommands.get(argv[1].toLowerCase());
    if (sub === undefined) return unknownSubcommand(entry, argv[1]);
    entry = sub;
  }

  if (!arityOk(entry.spec, argv.length)) return Errors.wrongArity(entry.spec.name);

  if (!client.authenticated && !entry.spec.flags.includes('noauth')) return Errors.noAuth;

  if (client.inSubscriberMode && !SUBSCRIBER_ALLOWED.has(name)) {
    return new ErrorReply(
      `ERR Can't execute '${entry.spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
    );
  }

  if (entry.kind === 'server') return (entry.handler as NonNullable<TableEntry['handler']>)({ server, client }, argv);
  return routeData(server, client, argv, entry.spec.flags.includes('write'));
}

/**
 * Data commands keep their connection's order, as on Redis: a read sees every write sent before
 * it on the same connection (the node serves it at an index no lower than the last proposal) and
 * none sent after it. For the latter, a write that follows a read still in flight waits for that
 * read, and everything behind a waiting command waits too, in order. Pipelines of only writes or
 * only reads never wait.
 */
function routeData(server: ServerApi, client: Client, argv: string[], isWrite: boolean): ReplyOrLater {
  const db = client.db; // captured now: a later SELECT must not move a command that waits
  const stale = client.staleReads;
  // The usual case, nothing ahead to wait for: run now (no closure, no promise chain).
  if (client.orderingTail === null && !(isWrite && client.readsInFlight > 0)) return runData(server, client, db, argv, isWrite, stale);
  const ahead = client.orderingTail ?? client.whenReadsDrained();
  const result = ahead.then(() => runData(server, client, db, argv, isWrite, stale));
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  client.orderingTail = tail;
  void tail.then(() => {
    if (client.orderingTail === tail) client.orderingTail = null;
  });
  return result;
}

/** Runs a data command on the node; a read served later counts as in flight on its connection until then. */
function runData(server: ServerApi, client: Client, db: number, argv: string[], isWrite: boolean, stale: boolean): ReplyOrLater {
  if (isWrite) return server.node.write(db, argv);
  const reply = server.node.read(db, argv, stale);
  if (!(reply instanceof Promise)) return reply;
  client.readsInFlight++;
  return reply.finally(() => {
    client.readsInFlight--;
    if (client.readsInFlight === 0) client.readsDrained();
  });
}

/** `ERR unknown command 'x', with args beginning with: 'a' 'b' ` (Redis's commandCheckExistence). */
export function unknownCommand(argv: string[]): ErrorReply {
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) {
    const remaining = 128 - args.length;
    args += `'${sanitize(argv[i]).slice(0, remaining)}' `;
  }
  return new ErrorReply(`ERR unknown command '${sanitize(argv[0]).slice(0, 128)}', with args beginning with: ${args}`);
}

function unknownSubcommand(entry: TableEntry, sub: string): ErrorReply {
  return new ErrorReply(`ERR unknown subcommand '${sanitize(sub).slice(0, 128)}'. Try ${entry.spec.name.toUpperCase()} HELP.`);
}

function sanitize(text: string): string {
  return text.replace(/[\r\n]/g, ' ');
}
