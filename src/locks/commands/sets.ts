// A small set type (SADD, SREM, SMEMBERS, SISMEMBER, SCARD): enough for the clients' test suites,
// which create a set to check that GET inside a script raises WRONGTYPE.

import { Errors, SetReply, type ErrorReply } from '../../resp/reply';
import type { CommandDef } from '../command_spec';
import { Entry, type Keyspace } from '../keyspace';
import type { ExecContext } from '../types';
import { SetValue } from '../zset';
import { dataCommand, ONE_KEY, type DataHandler } from './define';

function lookupSet(state: Keyspace, ctx: ExecContext, key: string): SetValue | undefined | ErrorReply {
  const entry = state.lookup(ctx, key);
  if (entry === undefined) return undefined;
  if (typeof entry.value === 'string' || entry.value.kind !== 'set') return Errors.wrongType;
  return entry.value;
}

const sadd: DataHandler = (state, argv, ctx) => {
  let set = lookupSet(state, ctx, argv[1]);
  if (set !== undefined && !(set instanceof SetValue)) return set;
  if (set === undefined) {
    set = new SetValue();
    state.db(ctx).add(argv[1], new Entry(set, ctx.index, 0));
  }
  let added = 0;
  for (let i = 2; i < argv.length; i++) {
    if (!set.members.has(argv[i])) {
      set.members.add(argv[i]);
      added++;
    }
  }
  return added;
};

const srem: DataHandler = (state, argv, ctx) => {
  const set = lookupSet(state, ctx, argv[1]);
  if (set === undefined) return 0;
  if (!(set instanceof SetValue)) return set;
  let removed = 0;
  for (let i = 2; i < argv.length; i++) if (set.members.delete(argv[i])) removed++;
  if (set.members.size === 0) state.db(ctx).remove(argv[1]);
  return removed;
};

const smembers: DataHandler = (state, argv, ctx) => {
  const set = lookupSet(state, ctx, argv[1]);
  if (set === undefined) return new SetReply([]);
  if (!(set instanceof SetValue)) return set;
  return new SetReply([...set.members]);
};

const sismember: DataHandler = (state, argv, ctx) => {
  const set = lookupSet(state, ctx, argv[1]);
  if (set === undefined) return 0;
  if (!(set instanceof SetValue)) return set;
  return set.members.has(argv[2]) ? 1 : 0;
};

const scard: DataHandler = (state, argv, ctx) => {
  const set = lookupSet(state, ctx, argv[1]);
  if (set === undefined) return 0;
  if (!(set instanceof SetValue)) return set;
  return set.members.size;
};

export const setCommands: ReadonlyArray<CommandDef<DataHandler>> = [
  dataCommand('sadd', -3, ['write', 'denyoom', 'fast'], 'set', 'Adds one or more members to a set.', sadd, { keys: ONE_KEY }),
  dataCommand('srem', -3, ['write', 'fast'], 'set', 'Removes one or more members from a set.', srem, { keys: ONE_KEY }),
  dataCommand('smembers', 2, ['readonly'], 'set', 'Returns all members of a set.', smembers, { keys: ONE_KEY }),
  dataCommand('sismember', 3, ['readonly', 'fast'], 'set', 'Determines whether a member belongs to a set.', sismember, { keys: ONE_KEY }),
  dataCommand('scard', 2, ['readonly', 'fast'], 'set', 'Returns the number of members in a set.', scard, { keys: ONE_KEY }),
];
