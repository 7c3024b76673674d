// How a command is declared: as data, the way Redis's src/commands/*.json are.
//
// The dispatcher (src/server) checks arity and flags once, from this data, before any handler
// runs; the state machine uses the same declarations to check `redis.call` from Lua. Data
// commands (the ones that read or change the keyspace) are declared next to their handlers in
// src/locks/commands/*.ts; connection and server commands in src/server/commands/*.ts.

import type { Reply } from '../resp/reply';

export type CommandFlag =
  | 'write' // changes the keyspace: goes through the Raft log
  | 'readonly' // reads the keyspace: served after a ReadIndex (or locally when stale reads are allowed)
  | 'fast'
  | 'denyoom'
  | 'noscript' // may not be called from Lua
  | 'pubsub' // allowed in RESP2 subscriber mode
  | 'admin'
  | 'noauth' // allowed before AUTH when a password is set
  | 'loading' // allowed while the node is loading
  | 'stale' // allowed while there is no leader
  | 'blocking';

export interface CommandSpec {
  /** Lowercase name, e.g. `set`; a subcommand is `client|setname`. */
  readonly name: string;
  /** Redis convention: n > 0 means exactly n words (name included); n < 0 means at least -n. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  /** Position of the first key (0 when the command takes none), the last (-1 = last argument), and the step. */
  readonly firstKey: number;
  readonly lastKey: number;
  readonly keyStep: number;
  /** For COMMAND DOCS / help: one line, the Redis group name and the version it mirrors. */
  readonly summary: string;
  readonly group: string;
}

/** A declaration plus its handler; H is the handler's type, which differs between layers. */
export interface CommandDef<H> extends CommandSpec {
  readonly handler: H;
  readonly subcommands?: ReadonlyArray<CommandDef<H>>;
}

/** Arity check, shared by the dispatcher and by redis.call. `argc` counts the command name. */
export function arityOk(spec: CommandSpec, argc: number): boolean {
  return spec.arity >= 0 ? argc === spec.arity : argc >= -spec.arity;
}

/** Key positions of one invocation (indexes into argv), from firstKey/lastKey/keyStep. */
export function keyIndexes(spec: CommandSpec, argc: number): number[] {
  if (spec.firstKey === 0) return [];
  const last = spec.lastKey < 0 ? argc + spec.lastKey : spec.lastKey;
  const out: number[] = [];
  for (let i = spec.firstKey; i <= last && i < argc; i += spec.keyStep) out.push(i);
  return out;
}

export type { Reply };
