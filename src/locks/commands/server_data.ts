// Keyspace-wide commands: DBSIZE, FLUSHDB, FLUSHALL (replicated writes; ASYNC is accepted and
// runs synchronously, since the state machine has no background work).

import { Errors, OK } from '../../resp/reply';
import type { CommandDef } from '../command_spec';
import { dataCommand, type DataHandler } from './define';

function flushMode(argv: string[]): boolean {
  if (argv.length === 1) return true;
  if (argv.length > 2) return false;
  const mode = argv[1].toLowerCase();
  return mode === 'async' || mode === 'sync';
}

const dbsize: DataHandler = (state, _argv, ctx) => state.db(ctx).size;

const flushdb: DataHandler = (state, argv, ctx) => {
  if (!flushMode(argv)) return Errors.syntax;
  state.db(ctx).clear();
  return OK;
};

const flushall: DataHandler = (state, argv) => {
  if (!flushMode(argv)) return Errors.syntax;
  for (const db of state.dbs) db.clear();
  return OK;
};

export const serverDataCommands: ReadonlyArray<CommandDef<DataHandler>> = [
  dataCommand('dbsize', 1, ['readonly', 'fast'], 'server', 'Returns the number of keys in the database.', dbsize),
  dataCommand('flushdb', -1, ['write'], 'server', 'Removes all keys from the current database.', flushdb),
  dataCommand('flushall', -1, ['write'], 'server', 'Removes all keys from all databases.', flushall),
];
