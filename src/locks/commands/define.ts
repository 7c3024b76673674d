// How data commands are declared: as data (name, arity, flags, key positions, docs) plus a handler.

import type { CommandDef, CommandFlag } from '../command_spec';
import type { Reply } from '../../resp/reply';
import type { ExecContext } from '../types';
import type { Keyspace } from '../keyspace';

/** A data-command handler: runs against the keyspace with the entry's index and time. */
export type DataHandler = (state: Keyspace, argv: string[], ctx: ExecContext) => Reply;

export interface DataDefOptions {
  /** [firstKey, lastKey, keyStep]; default: no keys. */
  readonly keys?: readonly [number, number, number];
  readonly subcommands?: ReadonlyArray<CommandDef<DataHandler>>;
}

export function dataCommand(
  name: string,
  arity: number,
  flags: readonly CommandFlag[],
  group: string,
  summary: string,
  handler: DataHandler,
  options: DataDefOptions = {},
): CommandDef<DataHandler> {
  const [firstKey, lastKey, keyStep] = options.keys ?? [0, 0, 0];
  return { name, arity, flags, firstKey, lastKey, keyStep, summary, group, handler, subcommands: options.subcommands };
}

/** Key positions for the common shapes. */
export const ONE_KEY = [1, 1, 1] as const;
export const ALL_KEYS = [1, -1, 1] as const;
