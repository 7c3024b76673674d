// Generic key commands (Redis 7.2 db.c / expire.c semantics): DEL, EXISTS, the EXPIRE family,
// TTL/PTTL, EXPIRETIME, PERSIST, TYPE, KEYS, SCAN.
//
// Deadlines are on the logical timeline; absolute inputs and outputs (EXPIREAT, EXPIRETIME) are
// converted with the clock offset so clients see Unix times.

import { err, Errors, SimpleString, type Reply } from '../../resp/reply';
import type { CommandDef } from '../command_spec';
import { EX, EXAT, PX, PXAT, resolveExpire, type ExpireSpec } from '../expire_time';
import { globMatch } from '../glob';
import { SLOT_COUNT } from '../key_slot';
import { typeOf, type Keyspace } from '../keyspace';
import { parseIntApprox } from '../parse';
import type { ExecContext } from '../types';
import { ALL_KEYS, dataCommand, ONE_KEY, type DataHandler } from './define';

const del: DataHandler = (state, argv, ctx) => {
  let removed = 0;
  for (let i = 1; i < argv.length; i++) {
    if (state.lookup(ctx, argv[i]) !== undefined && state.db(ctx).remove(argv[i])) removed++;
  }
  return removed;
};

const exists: DataHandler = (state, argv, ctx) => {
  let count = 0;
  for (let i = 1; i < argv.length; i++) if (state.lookup(ctx, argv[i]) !== undefined) count++;
  return count;
};

const NX = 1;
const XX = 2;
const GT = 4;
const LT = 8;

function expireGeneric(spec: ExpireSpec, name: string): DataHandler {
  return (state, argv, ctx) => {
    let flags = 0;
    for (let j = 3; j < argv.length; j++) {
      const opt = argv[j].toLowerCase();
      if (opt === 'nx') flags |= NX;
      else if (opt === 'xx') flags |= XX;
      else if (opt === 'gt') flags |= GT;
      else if (opt === 'lt') flags |= LT;
      else return err(`ERR Unsupported option ${argv[j]}`);
    }
    if (flags & NX && flags & (XX | GT | LT)) return err('ERR NX and XX, GT or LT options at the same time are not compatible');
    if (flags & GT && flags & LT) return err('ERR GT and LT options at the same time are not compatible');
    const when = resolveExpire(state, ctx, argv[2], spec, name, false);
    if (typeof when !== 'number') return when;
    const key = argv[1];
    const entry = state.lookup(ctx, key);
    if (entry === undefined) return 0;
    const current = entry.deadlineMs === 0 ? -1 : entry.deadlineMs;
    if (flags & NX && current !== -1) return 0;
    if (flags & XX && current === -1) return 0;
    // A missing TTL counts as infinite: GT never beats it, LT always does.
    if (flags & GT && (current === -1 || when <= current)) return 0;
    if (flags & LT && current !== -1 && when >= current) return 0;
    if (when <= ctx.nowMs) state.db(ctx).remove(key);
    else state.db(ctx).setDeadline(key, entry, when);
    return 1;
  };
}

/** TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 no key, -1 no TTL; seconds are rounded like Redis ((ms+500)/1000). */
function ttlGeneric(outputMs: boolean, absolute: boolean): DataHandler {
  return (state, argv, ctx) => {
    const entry = state.lookup(ctx, argv[1]);
    if (entry === undefined) return -2;
    if (entry.deadlineMs === 0) return -1;
    let ms = absolute ? entry.deadlineMs + state.offsetMs : entry.deadlineMs - ctx.nowMs;
    if (ms < 0) ms = 0;
    return outputMs ? ms : Math.floor((ms + 500) / 1000);
  };
}

const persist: DataHandler = (state, argv, ctx) => {
  const entry = state.lookup(ctx, argv[1]);
  if (entry === undefined || entry.deadlineMs === 0) return 0;
  state.db(ctx).setDeadline(argv[1], entry, 0);
  return 1;
};

const type: DataHandler = (state, argv, ctx) => {
  const entry = state.lookup(ctx, argv[1]);
  return new SimpleString(entry === undefined ? 'none' : typeOf(entry.value));
};

function isLive(deadlineMs: number, ctx: ExecContext): boolean {
  return deadlineMs === 0 || deadlineMs > ctx.nowMs;
}

const keys: DataHandler = (state, argv, ctx) => {
  const pattern = argv[1];
  const all = pattern === '*';
  const out: Reply[] = [];
  for (const [key, entry] of state.db(ctx).entries()) {
    if (isLive(entry.deadlineMs, ctx) && (all || globMatch(pattern, key))) out.push(key);
  }
  return out;
};

const TYPE_NAMES = new Set(['string', 'zset', 'set', 'list', 'hash', 'stream']);

/**
 * SCAN: the cursor is a hash-slot number. Each call returns whole slots, from the cursor on,
 * until COUNT keys were examined; a key that exists for the whole scan stays in its slot and is
 * returned exactly once, whatever is inserted or deleted in between. Expired keys are skipped.
 */
const scan: DataHandler = (state, argv, ctx) => {
  const cursorText = argv[1];
  if (!/^[0-9]{1,20}$/.test(cursorText)) return err('ERR invalid cursor');
  let cursor = Number(cursorText);
  let pattern: string | null = null;
  let count = 10;
  let typeName: string | null = null;
  for (let j = 2; j < argv.length; j++) {
    const opt = argv[j].toLowerCase();
    const more = j + 1 < argv.length;
    if (opt === 'count' && more) {
      const n = parseIntApprox(argv[++j]);
      if (n === null) return Errors.notInteger;
      if (n < 1) return Errors.syntax;
      count = n;
    } else if (opt === 'match' && more) {
      pattern = argv[++j];
      if (pattern === '*') pattern = null;
    } else if (opt === 'type' && more) {
      typeName = argv[++j].toLowerCase();
      if (!TYPE_NAMES.has(typeName)) return err(`ERR unknown type name '${argv[j]}'`);
    } else return Errors.syntax;
  }
  count = Math.min(count, state.limits.scanCountMax);
  const db = state.db(ctx);
  const out: Reply[] = [];
  let examined = 0;
  while (cursor < SLOT_COUNT && examined < count) {
    const map = db.slotMap(cursor++);
    if (map === undefined) continue;
    for (const [key, entry] of map) {
      examined++;
      if (!isLive(entry.deadlineMs, ctx)) continue;
      if (pattern !== null && !globMatch(pattern, key)) continue;
      if (typeName !== null && typeOf(entry.value) !== typeName) continue;
      out.push(key);
    }
  }
  return [String(cursor >= SLOT_COUNT ? 0 : cursor), out];
};

const W = ['write', 'fast'] as const;
const RF = ['readonly', 'fast'] as const;

export const keyCommands: ReadonlyArray<CommandDef<DataHandler>> = [
  dataCommand('del', -2, ['write'], 'generic', 'Deletes one or more keys.', del, { keys: ALL_KEYS }),
  dataCommand('unlink', -2, ['write', 'fast'], 'generic', 'Asynchronously deletes one or more keys.', del, { keys: ALL_KEYS }),
  dataCommand('exists', -2, RF, 'generic', 'Determines whether one or more keys exist.', exists, { keys: ALL_KEYS }),
  dataCommand('expire', -3, W, 'generic', 'Sets the expiration time of a key in seconds.', expireGeneric(EX, 'expire'), { keys: ONE_KEY }),
  dataCommand('pexpire', -3, W, 'generic', 'Sets the expiration time of a key in milliseconds.', expireGeneric(PX, 'pexpire'), { keys: ONE_KEY }),
  dataCommand('expireat', -3, W, 'generic', 'Sets the expiration time of a key to a Unix timestamp.', expireGeneric(EXAT, 'expireat'), { keys: ONE_KEY }),
  dataCommand('pexpireat', -3, W, 'generic', 'Sets the expiration time of a key to a Unix milliseconds timestamp.', expireGeneric(PXAT, 'pexpireat'), { keys: ONE_KEY }),
  dataCommand('ttl', 2, RF, 'generic', 'Returns the expiration time in seconds of a key.', ttlGeneric(false, false), { keys: ONE_KEY }),
  dataCommand('pttl', 2, RF, 'generic', 'Returns the expiration time in milliseconds of a key.', ttlGeneric(true, false), { keys: ONE_KEY }),
  dataCommand('expiretime', 2, RF, 'generic', 'Returns the expiration time of a key as a Unix timestamp.', ttlGeneric(false, true), { keys: ONE_KEY }),
  dataCommand('pexpiretime', 2, RF, 'generic', 'Returns the expiration time of a key as a Unix milliseconds timestamp.', ttlGeneric(true, true), { keys: ONE_KEY }),
  dataCommand('persist', 2, W, 'generic', 'Removes the expiration time of a key.', persist, { keys: ONE_KEY }),
  dataCommand('type', 2, RF, 'generic', 'Determines the type of value stored at a key.', type, { keys: ONE_KEY }),
  dataCommand('keys', 2, ['readonly'], 'generic', 'Returns all key names that match a pattern.', keys),
  dataCommand('scan', -2, ['readonly'], 'generic', 'Iterates over the key names in the database.', scan),
];
