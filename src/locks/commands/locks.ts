// The product's own lock API: LOCK, UNLOCK, HEARTBEAT, LOCKINFO.
//
// A lock is a string key whose value is the owner, so these commands and the Redis way of locking
// (SET key owner NX PX ms, then GET/DEL or DELIFEQ) work on the same keys. The fencing token is
// the log index of the entry that gave the key its current owner: strictly greater than every
// token granted before it, on every replica. A retried LOCK by the holder returns the same token.

import { MapReply, type Reply } from '../../resp/reply';
import type { CommandDef } from '../command_spec';
import { PX, resolveExpire } from '../expire_time';
import { Keyspace } from '../keyspace';
import { dataCommand, ONE_KEY, type DataHandler } from './define';
import { deleteIfEquals, lookupString } from './strings';

const lock: DataHandler = (state, argv, ctx) => {
  const [, key, owner, ttlText] = argv;
  const when = resolveExpire(state, ctx, ttlText, PX, 'lock', true);
  if (typeof when !== 'number') return when;
  const entry = lookupString(state, ctx, key);
  if (entry === undefined) return state.writeString(ctx, key, undefined, owner, Keyspace.deadline(when)).token;
  if (!('token' in entry)) return entry;
  if (entry.value !== owner) return null;
  state.db(ctx).setDeadline(key, entry, Keyspace.deadline(when));
  return entry.token;
};

const unlock: DataHandler = (state, argv, ctx) => deleteIfEquals(state, ctx, argv[1], argv[2]);

const heartbeat: DataHandler = (state, argv, ctx) => {
  const when = resolveExpire(state, ctx, argv[3], PX, 'heartbeat', true);
  if (typeof when !== 'number') return when;
  const entry = lookupString(state, ctx, argv[1]);
  if (entry === undefined) return 0;
  if (!('token' in entry)) return entry;
  if (entry.value !== argv[2]) return 0;
  state.db(ctx).setDeadline(argv[1], entry, Keyspace.deadline(when));
  return 1;
};

const lockinfo: DataHandler = (state, argv, ctx) => {
  const entry = lookupString(state, ctx, argv[1]);
  if (entry === undefined) return null;
  if (!('token' in entry)) return entry;
  const ttlMs = entry.deadlineMs === 0 ? -1 : entry.deadlineMs - ctx.nowMs;
  const fields: Array<[Reply, Reply]> = [
    ['owner', entry.value as string],
    ['token', entry.token],
    ['ttl_ms', ttlMs],
  ];
  return new MapReply(fields);
};

export const lockCommands: ReadonlyArray<CommandDef<DataHandler>> = [
  dataCommand('lock', 4, ['write', 'denyoom', 'fast'], 'lock', 'Acquires a lock for an owner with a TTL; replies its fencing token, or nil if another owner holds it.', lock, { keys: ONE_KEY }),
  dataCommand('unlock', 3, ['write', 'fast'], 'lock', 'Releases a lock if the owner holds it: 1, else 0.', unlock, { keys: ONE_KEY }),
  dataCommand('heartbeat', 4, ['write', 'fast'], 'lock', 'Resets the TTL of a lock if the owner holds it: 1, else 0.', heartbeat, { keys: ONE_KEY }),
  dataCommand('lockinfo', 2, ['readonly', 'fast'], 'lock', 'Returns the owner, fencing token and remaining TTL of a lock, or nil.', lockinfo, { keys: ONE_KEY }),
];
