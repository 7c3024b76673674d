// A compact way to declare server commands as data (name, arity, flags, keys, docs, handler).

import type { CommandDef, CommandFlag } from '../../locks/command_spec';
import type { ServerHandler } from '../command_table';

export interface DefineOptions {
  readonly firstKey?: number;
  readonly lastKey?: number;
  readonly keyStep?: number;
  readonly group?: string;
  readonly subcommands?: ReadonlyArray<CommandDef<ServerHandler>>;
}

export function define(
  name: string,
  arity: number,
  flags: readonly CommandFlag[],
  summary: string,
  handler: ServerHandler,
  options: DefineOptions = {},
): CommandDef<ServerHandler> {
  return {
    name,
    arity,
    flags,
    firstKey: options.firstKey ?? 0,
    lastKey: options.lastKey ?? 0,
    keyStep: options.keyStep ?? 0,
    summary,
    group: options.group ?? 'server',
    handler,
    subcommands: options.subcommands,
  };
}

/** A container command (CLIENT, CONFIG, ...): its own handler only runs for a bare call, which arity forbids. */
export function container(
  name: string,
  summary: string,
  group: string,
  subcommands: ReadonlyArray<CommandDef<ServerHandler>>,
): CommandDef<ServerHandler> {
  return define(name, -2, [], summary, () => null, { group, subcommands });
}
