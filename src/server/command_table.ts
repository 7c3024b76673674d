// The command table: every command the server knows, declared as data, in one lookup.
//
// Data commands (they read or change the keyspace) come from src/locks/commands and run in the
// replicated state machine; connection and server commands come from src/server/commands and
// run on this node only. The dispatcher checks arity and flags from this table once.

import type { CommandDef, CommandSpec } from '../locks/command_spec';
import type { Reply } from '../resp/reply';
import type { Client } from './client';
import type { ServerApi } from './server_api';
import type { ReplySequence } from './reply_sequence';

export interface CommandContext {
  readonly server: ServerApi;
  readonly client: Client;
}

export type ServerHandler = (ctx: CommandContext, argv: string[]) => Reply | ReplySequence | Promise<Reply>;

/** One entry of the merged table. Data commands carry no server handler: the dispatcher routes them. */
export interface TableEntry {
  readonly spec: CommandSpec;
  readonly kind: 'server' | 'data';
  readonly handler: ServerHandler | null;
  readonly subcommands: ReadonlyMap<string, TableEntry> | null;
}

export class CommandTable {
  private readonly entries = new Map<string, TableEntry>();

  addServer(defs: ReadonlyArray<CommandDef<ServerHandler>>): void {
    for (const def of defs) this.entries.set(def.name, toEntry(def, 'server'));
  }

  addData(defs: Iterable<CommandDef<unknown>>): void {
    for (const def of defs) {
      if (this.entries.has(def.name)) throw new Error(`command '${def.name}' is declared twice`);
      this.entries.set(def.name, toEntry(def, 'data'));
    }
  }

  get(lowerName: string): TableEntry | undefined {
    return this.entries.get(lowerName);
  }

  all(): IterableIterator<TableEntry> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }
}

function toEntry(def: CommandDef<unknown>, kind: 'server' | 'data'): TableEntry {
  let subcommands: Map<string, TableEntry> | null = null;
  if (def.subcommands && def.subcommands.length > 0) {
    subcommands = new Map();
    for (const sub of def.subcommands) {
      const subName = sub.name.includes('|') ? sub.name.slice(sub.name.indexOf('|') + 1) : sub.name;
      subcommands.set(subName, toEntry(sub, kind));
    }
  }
  return {
    spec: def,
    kind,
    handler: kind === 'server' ? (def.handler as ServerHandler) : null,
    subcommands,
  };
}
