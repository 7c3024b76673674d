// Runs one handler, turning an exception into an error reply: a throw inside apply() would stop
// every replica at the same entry. Shared by apply(), read() and redis.call.

import { ErrorReply, type Reply } from '../../resp/reply';
import type { CommandDef } from '../command_spec';
import type { Keyspace } from '../keyspace';
import type { ExecContext } from '../types';
import type { DataHandler } from './define';

export function runHandler(def: CommandDef<DataHandler>, state: Keyspace, argv: string[], ctx: ExecContext): Reply {
  try {
    return def.handler(state, argv, ctx);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return new ErrorReply(`ERR internal error in '${def.name}': ${message.replace(/[\r\n]+/g, ' ')}`);
  }
}

/** The declaration argv names: the command, or its subcommand for containers (SCRIPT LOAD). */
export function findCommand(commands: ReadonlyMap<string, CommandDef<DataHandler>>, argv: string[]): CommandDef<DataHandler> | undefined {
  if (argv.length === 0) return undefined;
  const name = argv[0].toLowerCase();
  const def = commands.get(name);
  if (def === undefined || def.subcommands === undefined || def.subcommands.length === 0) return def;
  if (argv.length < 2) return def;
  const subName = `${name}|${argv[1].toLowerCase()}`;
  return def.subcommands.find((s) => s.name === subName);
}
