// String commands (Redis 7.2 t_string.c semantics), plus the compare-and-delete commands lock
// clients want: DELIFEQ (Valkey 9) and DELEX / SET IFEQ|IFNE (Redis 8.4).
//
// A string's token is the index of the entry that gave it its current value (see keyspace.ts):
// that is what makes `SET key owner NX PX ms` a fenced lock.

import { err, Errors, OK, type ErrorReply, type Reply } from '../../resp/reply';
import type { CommandDef } from '../command_spec';
import { EX, EXAT, PX, PXAT, resolveExpire, type ExpireSpec } from '../expire_time';
import { Keyspace, KEEP_TTL, type Entry } from '../keyspace';
import { intReply, isInt64, parseInt64, parseInt64Big } from '../parse';
import type { ExecContext } from '../types';
import { ALL_KEYS, dataCommand, ONE_KEY, type DataHandler } from './define';

const stringTooLong = err('ERR string exceeds maximum allowed size (proto-max-bulk-len)');

/** The live entry if it holds a string, undefined if absent, WRONGTYPE otherwise. */
export function lookupString(state: Keyspace, ctx: ExecContext, key: string): Entry | undefined | ErrorReply {
  const entry = state.lookup(ctx, key);
  if (entry !== undefined && typeof entry.value !== 'string') return Errors.wrongType;
  return entry;
}

interface SetOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
  keepTtl: boolean;
  persist: boolean;
  expire: { text: string; spec: ExpireSpec } | null;
  ifEq: string | null;
  ifNe: string | null;
}

/** parseExtendedStringArgumentsOrReply: options in any order, case-insensitive; conflicts are syntax errors. */
function parseSetOptions(argv: string[], start: number, forGetex: boolean): SetOptions | ErrorReply {
  const o: SetOptions = { nx: false, xx: false, get: false, keepTtl: false, persist: false, expire: null, ifEq: null, ifNe: null };
  let expireKind = '';
  for (let j = start; j < argv.length; j++) {
    const opt = argv[j].toLowerCase();
    const next = j + 1 < argv.length ? argv[j + 1] : null;
    const noIf = o.ifEq === null && o.ifNe === null;
    if (!forGetex && opt === 'nx' && !o.xx && noIf) o.nx = true;
    else if (!forGetex && opt === 'xx' && !o.nx && noIf) o.xx = true;
    else if (!forGetex && opt === 'get') o.get = true;
    else if (!forGetex && opt === 'keepttl' && o.expire === null) o.keepTtl = true;
    else if (forGetex && opt === 'persist' && o.expire === null) o.persist = true;
    else if ((opt === 'ex' || opt === 'px' || opt === 'exat' || opt === 'pxat') && next !== null && !o.keepTtl && !o.persist && (expireKind === '' || expireKind === opt)) {
      expireKind = opt;
      o.expire = { text: next, spec: opt === 'ex' ? EX : opt === 'px' ? PX : opt === 'exat' ? EXAT : PXAT };
      j++;
    } else if (!forGetex && (opt === 'ifeq' || opt === 'ifne') && next !== null && !o.nx && !o.xx && (opt === 'ifeq' ? o.ifNe === null : o.ifEq === null)) {
      if (opt === 'ifeq') o.ifEq = next;
      else o.ifNe = next;
      j++;
    } else if (!forGetex && (opt === 'ifdeq' || opt === 'ifdne')) {
      return err('ERR IFDEQ/IFDNE are not supported');
    } else return Errors.syntax;
  }
  return o;
}

/** The deadline a SET-like command stores: 0 (no TTL), KEEP_TTL, or a logical time. */
function setDeadline(state: Keyspace, ctx: ExecContext, o: SetOptions, name: string): number | ErrorReply {
  if (o.keepTtl) return KEEP_TTL;
  if (o.expire === null) return 0;
  const when = resolveExpire(state, ctx, o.expire.text, o.expire.spec, name, true);
  return typeof when === 'number' ? Keyspace.deadline(when) : when;
}

const set: DataHandler = (state, argv, ctx) => {
  const o = parseSetOptions(argv, 3, false);
  if (!('nx' in o)) return o;
  return setGeneric(state, ctx, argv[1], argv[2], o, 'set');
};

function setGeneric(state: Keyspace, ctx: ExecContext, key: string, value: string, o: SetOptions, name: string): Reply {
  const deadline = setDeadline(state, ctx, o, name);
  if (typeof deadline !== 'number') return deadline;
  const existing = state.lookup(ctx, key);
  const isString = existing !== undefined && typeof existing.value === 'string';
  if (existing !== undefined && !isString && (o.get || o.ifEq !== null || o.ifNe !== null)) return Errors.wrongType;
  const old: Reply = isString ? (existing.value as string) : null;
  const blocked =
    (o.nx && existing !== undefined) ||
    (o.xx && existing === undefined) ||
    (o.ifEq !== null && (existing === undefined || existing.value !== o.ifEq)) ||
    (o.ifNe !== null && existing !== undefined && existing.value === o.ifNe);
  if (blocked) return o.get ? old : null;
  state.writeString(ctx, key, existing, value, deadline);
  return o.get ? old : OK;
}

const plainSet: SetOptions = { nx: false, xx: false, get: false, keepTtl: false, persist: false, expire: null, ifEq: null, ifNe: null };

const setnx: DataHandler = (state, argv, ctx) => {
  if (state.lookup(ctx, argv[1]) !== undefined) return 0;
  state.writeString(ctx, argv[1], undefined, argv[2], 0);
  return 1;
};

function setWithExpire(spec: ExpireSpec, name: string): DataHandler {
  return (state, argv, ctx) => {
    const when = resolveExpire(state, ctx, argv[2], spec, name, true);
    if (typeof when !== 'number') return when;
    state.writeString(ctx, argv[1], state.lookup(ctx, argv[1]), argv[3], Keyspace.deadline(when));
    return OK;
  };
}

const get: DataHandler = (state, argv, ctx) => {
  const entry = lookupString(state, ctx, argv[1]);
  if (entry === undefined) return null;
  if (!('token' in entry)) return entry;
  return entry.value as string;
};

const getdel: DataHandler = (state, argv, ctx) => {
  const entry = lookupString(state, ctx, argv[1]);
  if (entry === undefined) return null;
  if (!('token' in entry)) return entry;
  state.db(ctx).remove(argv[1]);
  return entry.value as string;
};

const getex: DataHandler = (state, argv, ctx) => {
  const o = parseSetOptions(argv, 2, true);
  if (!('nx' in o)) return o;
  let when: number | null = null;
  if (o.expire !== null) {
    const resolved = resolveExpire(state, ctx, o.expire.text, o.expire.spec, 'getex', true);
    if (typeof resolved !== 'number') return resolved;
    when = resolved;
  }
  const entry = lookupString(state, ctx, argv[1]);
  if (entry === undefined) return null;
  if (!('token' in entry)) return entry;
  const value = entry.value as string;
  if (when !== null && when <= ctx.nowMs) state.db(ctx).remove(argv[1]);
  else if (when !== null) state.db(ctx).setDeadline(argv[1], entry, when);
  else if (o.persist) state.db(ctx).setDeadline(argv[1], entry, 0);
  return value;
};

const getset: DataHandler = (state, argv, ctx) => setGeneric(state, ctx, argv[1], argv[2], { ...plainSet, get: true }, 'getset');

const mget: DataHandler = (state, argv, ctx) => {
  const out: Reply[] = [];
  for (let i = 1; i < argv.length; i++) {
    const entry = state.lookup(ctx, argv[i]);
    out.push(entry !== undefined && typeof entry.value === 'string' ? entry.value : null);
  }
  return out;
};

const mset: DataHandler = (state, argv, ctx) => {
  if (argv.length % 2 === 0) return Errors.wrongArity('mset');
  for (let i = 1; i < argv.length; i += 2) state.writeString(ctx, argv[i], state.lookup(ctx, argv[i]), argv[i + 1], 0);
  return OK;
};

const msetnx: DataHandler = (state, argv, ctx) => {
  if (argv.length % 2 === 0) return Errors.wrongArity('msetnx');
  for (let i = 1; i < argv.length; i += 2) if (state.lookup(ctx, argv[i]) !== undefined) return 0;
  for (let i = 1; i < argv.length; i += 2) state.writeString(ctx, argv[i], state.lookup(ctx, argv[i]), argv[i + 1], 0);
  return 1;
};

const append: DataHandler = (state, argv, ctx) => {
  const entry = lookupString(state, ctx, argv[1]);
  if (entry !== undefined && !('token' in entry)) return entry;
  const old = entry === undefined ? '' : (entry.value as string);
  if (old.length + argv[2].length > state.limits.stringBytesMax) return stringTooLong;
  const value = old + argv[2];
  state.writeString(ctx, argv[1], entry, value, KEEP_TTL);
  return value.length;
};

const strlen: DataHandler = (state, argv, ctx) => {
  const entry = lookupString(state, ctx, argv[1]);
  if (entry === undefined) return 0;
  if (!('token' in entry)) return entry;
  return (entry.value as string).length;
};

function incrBy(state: Keyspace, ctx: ExecContext, key: string, by: bigint | number): Reply {
  const entry = lookupString(state, ctx, key);
  if (entry !== undefined && !('token' in entry)) return entry;
  let current: number | bigint = 0;
  if (entry !== undefined) {
    const parsed = parseInt64(entry.value as string);
    if (parsed === null) return Errors.notInteger;
    current = parsed;
  }
  let result: number | bigint;
  if (typeof current === 'number' && typeof by === 'number' && Number.isSafeInteger(current + by)) {
    result = current + by;
  } else {
    const sum = BigInt(current) + BigInt(by);
    if (!isInt64(sum)) return Errors.overflow;
    result = intReply(sum);
  }
  state.writeString(ctx, key, entry, String(result), KEEP_TTL);
  return result;
}

const incr: DataHandler = (state, argv, ctx) => incrBy(state, ctx, argv[1], 1);
const decr: DataHandler = (state, argv, ctx) => incrBy(state, ctx, argv[1], -1);
const incrby: DataHandler = (state, argv, ctx) => {
  const by = parseInt64(argv[2]);
  if (by === null) return Errors.notInteger;
  return incrBy(state, ctx, argv[1], by);
};
const decrby: DataHandler = (state, argv, ctx) => {
  const by = parseInt64Big(argv[2]);
  if (by === null) return Errors.notInteger;
  if (by === -9223372036854775808n) return err('ERR decrement would overflow');
  return incrBy(state, ctx, argv[1], intReply(-by));
};

/** Deletes a string key only while it holds `value`: DELIFEQ, and UNLOCK (a lock's value is its owner). */
export function deleteIfEquals(state: Keyspace, ctx: ExecContext, key: string, value: string): Reply {
  const entry = lookupString(state, ctx, key);
  if (entry === undefined) return 0;
  if (!('token' in entry)) return entry;
  if (entry.value !== value) return 0;
  state.db(ctx).remove(key);
  return 1;
}

const delifeq: DataHandler = (state, argv, ctx) => deleteIfEquals(state, ctx, argv[1], argv[2]);

const delex: DataHandler = (state, argv, ctx) => {
  if (argv.length === 2) {
    if (state.lookup(ctx, argv[1]) === undefined) return 0;
    state.db(ctx).remove(argv[1]);
    return 1;
  }
  if (argv.length !== 4) return Errors.syntax;
  const condition = argv[2].toLowerCase();
  if (condition === 'ifdeq' || condition === 'ifdne') return err('ERR IFDEQ/IFDNE are not supported');
  if (condition !== 'ifeq' && condition !== 'ifne') return Errors.syntax;
  const entry = lookupString(state, ctx, argv[1]);
  if (entry === undefined) return 0;
  if (!('token' in entry)) return entry;
  if ((entry.value === argv[3]) !== (condition === 'ifeq')) return 0;
  state.db(ctx).remove(argv[1]);
  return 1;
};

const W = ['write', 'denyoom'] as const;
const WF = ['write', 'denyoom', 'fast'] as const;
const RF = ['readonly', 'fast'] as const;

export const stringCommands: ReadonlyArray<CommandDef<DataHandler>> = [
  dataCommand('get', 2, RF, 'string', 'Returns the string value of a key.', get, { keys: ONE_KEY }),
  dataCommand('set', -3, W, 'string', 'Sets the string value of a key, ignoring its type. The key is created if it doesn\'t exist.', set, { keys: ONE_KEY }),
  dataCommand('setnx', 3, WF, 'string', 'Set the string value of a key only when the key doesn\'t exist.', setnx, { keys: ONE_KEY }),
  dataCommand('setex', 4, W, 'string', 'Sets the string value and expiration time of a key.', setWithExpire(EX, 'setex'), { keys: ONE_KEY }),
  dataCommand('psetex', 4, W, 'string', 'Sets both string value and expiration time in milliseconds of a key.', setWithExpire(PX, 'psetex'), { keys: ONE_KEY }),
  dataCommand('getdel', 2, ['write', 'fast'], 'string', 'Returns the string value of a key after deleting the key.', getdel, { keys: ONE_KEY }),
  dataCommand('getex', -2, ['write', 'fast'], 'string', 'Returns the string value of a key after setting its expiration time.', getex, { keys: ONE_KEY }),
  dataCommand('getset', 3, WF, 'string', 'Returns the previous string value of a key after setting it to a new value.', getset, { keys: ONE_KEY }),
  dataCommand('mget', -2, ['readonly', 'fast'], 'string', 'Atomically returns the string values of one or more keys.', mget, { keys: ALL_KEYS }),
  dataCommand('mset', -3, W, 'string', 'Atomically creates or modifies the string values of one or more keys.', mset, { keys: [1, -1, 2] }),
  dataCommand('msetnx', -3, W, 'string', 'Atomically modifies the string values of one or more keys only when all keys don\'t exist.', msetnx, { keys: [1, -1, 2] }),
  dataCommand('append', 3, WF, 'string', 'Appends a string to the value of a key. Creates the key if it doesn\'t exist.', append, { keys: ONE_KEY }),
  dataCommand('strlen', 2, RF, 'string', 'Returns the length of a string value.', strlen, { keys: ONE_KEY }),
  dataCommand('incr', 2, WF, 'string', 'Increments the integer value of a key by one.', incr, { keys: ONE_KEY }),
  dataCommand('decr', 2, WF, 'string', 'Decrements the integer value of a key by one.', decr, { keys: ONE_KEY }),
  dataCommand('incrby', 3, WF, 'string', 'Increments the integer value of a key by a number.', incrby, { keys: ONE_KEY }),
  dataCommand('decrby', 3, WF, 'string', 'Decrements a number from the integer value of a key.', decrby, { keys: ONE_KEY }),
  dataCommand('delifeq', 3, ['write', 'fast'], 'string', 'Deletes the key if its value equals the given value (Valkey 9).', delifeq, { keys: ONE_KEY }),
  dataCommand('delex', -2, ['write', 'fast'], 'string', 'Deletes the key, optionally only if its value is or is not equal to a given value (Redis 8.4).', delex, { keys: ONE_KEY }),
];
