// Sorted-set commands (Redis 7.2 t_zset.c semantics) for redis-semaphore and friends: ZADD with
// every flag, ZREM, ZCARD, ZSCORE, ZCOUNT, ZINCRBY, ZRANGE (rank, BYSCORE, REV, LIMIT), the
// ZRANGEBYSCORE family, ZREMRANGEBYSCORE, ZRANK/ZREVRANK.
//
// Scores are replied as DoubleReply: RESP3 gets `,`, RESP2 a bulk string formatted like Redis.
// WITHSCORES replies are flat [member, score, ...] arrays (Redis's RESP2 shape; Redis 7 nests
// pairs for RESP3 callers, which a protocol-independent Reply cannot express yet).

import { DoubleReply, err, Errors, NullArray, type ErrorReply, type Reply } from '../../resp/reply';
import type { CommandDef } from '../command_spec';
import { Entry, type Keyspace } from '../keyspace';
import { parseDouble, parseIntApprox, parseScoreBound, type ScoreBound } from '../parse';
import type { ExecContext } from '../types';
import { ZSetValue } from '../zset';
import { dataCommand, ONE_KEY, type DataHandler } from './define';

const notFloatRange = err('ERR min or max is not a float');

function lookupZset(state: Keyspace, ctx: ExecContext, key: string): ZSetValue | undefined | ErrorReply {
  const entry = state.lookup(ctx, key);
  if (entry === undefined) return undefined;
  if (typeof entry.value === 'string' || entry.value.kind !== 'zset') return Errors.wrongType;
  return entry.value;
}

const Z_NX = 1;
const Z_XX = 2;
const Z_GT = 4;
const Z_LT = 8;
const Z_CH = 16;
const Z_INCR = 32;

const zadd: DataHandler = (state, argv, ctx) => zaddGeneric(state, argv, ctx, 0);

function zaddGeneric(state: Keyspace, argv: string[], ctx: ExecContext, forcedFlags: number): Reply {
  let flags = forcedFlags;
  let j = 2;
  if (forcedFlags === 0) {
    for (; j < argv.length; j++) {
      const opt = argv[j].toLowerCase();
      if (opt === 'nx') flags |= Z_NX;
      else if (opt === 'xx') flags |= Z_XX;
      else if (opt === 'gt') flags |= Z_GT;
      else if (opt === 'lt') flags |= Z_LT;
      else if (opt === 'ch') flags |= Z_CH;
      else if (opt === 'incr') flags |= Z_INCR;
      else break;
    }
  }
  const pairs = argv.length - j;
  if (pairs % 2 !== 0 || pairs === 0) return Errors.syntax;
  if (flags & Z_NX && flags & Z_XX) return err('ERR XX and NX options at the same time are not compatible');
  if ((flags & Z_GT && flags & Z_NX) || (flags & Z_LT && flags & Z_NX) || (flags & Z_GT && flags & Z_LT)) {
    return err('ERR GT, LT, and/or NX options at the same time are not compatible');
  }
  const incr = (flags & Z_INCR) !== 0;
  if (incr && pairs > 2) return err('ERR INCR option supports a single increment-element pair');
  const scores: number[] = [];
  for (let i = j; i < argv.length; i += 2) {
    const score = parseDouble(argv[i]);
    if (score === null) return Errors.notFloat;
    scores.push(score);
  }
  let zset = lookupZset(state, ctx, argv[1]);
  if (zset !== undefined && !(zset instanceof ZSetValue)) return zset;
  if (zset === undefined) {
    if (flags & Z_XX) return incr ? null : 0;
    zset = new ZSetValue();
    state.db(ctx).add(argv[1], new Entry(zset, ctx.index, 0));
  }
  let added = 0;
  let updated = 0;
  let processed = 0;
  let incrResult = 0;
  for (let p = 0; p < scores.length; p++) {
    const member = argv[j + 2 * p + 1];
    let score = scores[p];
    const current = zset.score(member);
    if (current !== undefined) {
      if (flags & Z_NX) continue;
      if (incr) {
        score += current;
        if (Number.isNaN(score)) {
          if (zset.size === 0) state.db(ctx).remove(argv[1]);
          return err('ERR resulting score is not a number (NaN)');
        }
      }
      if ((flags & Z_GT && score <= current) || (flags & Z_LT && score >= current)) continue;
      processed++;
      incrResult = score;
      if (score !== current) {
        zset.remove(member);
        zset.insert(member, score);
        updated++;
      }
    } else {
      if (flags & Z_XX) continue;
      zset.insert(member, score);
      added++;
      processed++;
      incrResult = score;
    }
  }
  if (zset.size === 0) state.db(ctx).remove(argv[1]);
  if (incr) return processed > 0 ? new DoubleReply(incrResult) : null;
  return flags & Z_CH ? added + updated : added;
}

const zincrby: DataHandler = (state, argv, ctx) => zaddGeneric(state, argv, ctx, Z_INCR);

const zrem: DataHandler = (state, argv, ctx) => {
  const zset = lookupZset(state, ctx, argv[1]);
  if (zset === undefined) return 0;
  if (!(zset instanceof ZSetValue)) return zset;
  let removed = 0;
  for (let i = 2; i < argv.length; i++) if (zset.remove(argv[i])) removed++;
  if (zset.size === 0) state.db(ctx).remove(argv[1]);
  return removed;
};

const zcard: DataHandler = (state, argv, ctx) => {
  const zset = lookupZset(state, ctx, argv[1]);
  if (zset === undefined) return 0;
  if (!(zset instanceof ZSetValue)) return zset;
  return zset.size;
};

const zscore: DataHandler = (state, argv, ctx) => {
  const zset = lookupZset(state, ctx, argv[1]);
  if (zset === undefined) return null;
  if (!(zset instanceof ZSetValue)) return zset;
  const score = zset.score(argv[2]);
  return score === undefined ? null : new DoubleReply(score);
};

const zcount: DataHandler = (state, argv, ctx) => {
  const min = parseScoreBound(argv[2]);
  const max = parseScoreBound(argv[3]);
  if (min === null || max === null) return notFloatRange;
  const zset = lookupZset(state, ctx, argv[1]);
  if (zset === undefined) return 0;
  if (!(zset instanceof ZSetValue)) return zset;
  return Math.max(0, zset.endAtMost(max) - zset.firstAtLeast(min));
};

type RangeType = 'auto' | 'rank' | 'score';

interface RangeRequest {
  readonly keyIndex: number;
  readonly rangeType: Exclude<RangeType, 'auto'>;
  readonly rev: boolean;
  readonly withScores: boolean;
  readonly offset: number;
  readonly limit: number; // < 0: no limit
  readonly minText: string;
  readonly maxText: string;
}

/** zrangeGenericCommand's option parsing; `fixed` is set for ZRANGEBYSCORE and friends. */
function parseRange(argv: string[], fixed: { rangeType: 'rank' | 'score'; rev: boolean } | null): RangeRequest | ErrorReply {
  let rangeType: RangeType = fixed?.rangeType ?? 'auto';
  let rev = fixed?.rev ?? false;
  let revSeen = fixed !== null;
  let withScores = false;
  let hasLimit = false;
  let offset = 0;
  let limit = -1;
  for (let j = 4; j < argv.length; j++) {
    const opt = argv[j].toLowerCase();
    const left = argv.length - j - 1;
    if (opt === 'withscores') withScores = true;
    else if (opt === 'limit' && left >= 2) {
      const o = parseIntApprox(argv[j + 1]);
      const l = parseIntApprox(argv[j + 2]);
      if (o === null || l === null) return Errors.notInteger;
      offset = o;
      limit = l;
      hasLimit = true;
      j += 2;
    } else if (fixed === null && !revSeen && opt === 'rev') {
      rev = true;
      revSeen = true;
    } else if (fixed === null && rangeType === 'auto' && opt === 'byscore') rangeType = 'score';
    else if (fixed === null && rangeType === 'auto' && opt === 'bylex') return err('ERR BYLEX is not supported');
    else return Errors.syntax;
  }
  if (rangeType === 'auto') rangeType = 'rank';
  if (hasLimit && rangeType === 'rank') return err('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  // With REV the range is written max first.
  const [minText, maxText] = rev && rangeType === 'score' ? [argv[3], argv[2]] : [argv[2], argv[3]];
  return { keyIndex: 1, rangeType, rev, withScores, offset, limit, minText, maxText };
}

function rangeReply(zset: ZSetValue, indexes: number[], withScores: boolean): Reply[] {
  const out: Reply[] = [];
  for (const i of indexes) {
    out.push(zset.members[i]);
    if (withScores) out.push(new DoubleReply(zset.scores[i]));
  }
  return out;
}

function runRange(state: Keyspace, argv: string[], ctx: ExecContext, request: RangeRequest | ErrorReply): Reply {
  if (!('rangeType' in request)) return request;
  let min: ScoreBound | null = null;
  let max: ScoreBound | null = null;
  let start = 0;
  let stop = 0;
  if (request.rangeType === 'score') {
    min = parseScoreBound(request.minText);
    max = parseScoreBound(request.maxText);
    if (min === null || max === null) return notFloatRange;
  } else {
    const s = parseIntApprox(request.minText);
    const e = parseIntApprox(request.maxText);
    if (s === null || e === null) return Errors.notInteger;
    start = s;
    stop = e;
  }
  const zset = lookupZset(state, ctx, argv[request.keyIndex]);
  if (zset === undefined) return [];
  if (!(zset instanceof ZSetValue)) return zset;
  const length = zset.size;
  const indexes: number[] = [];
  if (request.rangeType === 'rank') {
    if (start < 0) start += length;
    if (stop < 0) stop += length;
    if (start < 0) start = 0;
    if (start > stop || start >= length) return [];
    if (stop >= length) stop = length - 1;
    for (let r = start; r <= stop; r++) indexes.push(request.rev ? length - 1 - r : r);
  } else {
    const first = zset.firstAtLeast(min!);
    const end = zset.endAtMost(max!);
    if (request.offset < 0) return [];
    let remaining = request.limit < 0 ? Infinity : request.limit;
    if (request.rev) {
      for (let i = end - 1 - request.offset; i >= first && remaining > 0; i--, remaining--) indexes.push(i);
    } else {
      for (let i = first + request.offset; i < end && remaining > 0; i++, remaining--) indexes.push(i);
    }
  }
  return rangeReply(zset, indexes, request.withScores);
}

const zrange: DataHandler = (state, argv, ctx) => runRange(state, argv, ctx, parseRange(argv, null));
const zrevrange: DataHandler = (state, argv, ctx) => {
  for (let j = 4; j < argv.length; j++) if (argv[j].toLowerCase() !== 'withscores') return Errors.syntax;
  return runRange(state, argv, ctx, parseRange(argv, { rangeType: 'rank', rev: true }));
};
const zrangebyscore: DataHandler = (state, argv, ctx) => runRange(state, argv, ctx, parseRange(argv, { rangeType: 'score', rev: false }));
const zrevrangebyscore: DataHandler = (state, argv, ctx) => runRange(state, argv, ctx, parseRange(argv, { rangeType: 'score', rev: true }));

const zremrangebyscore: DataHandler = (state, argv, ctx) => {
  const min = parseScoreBound(argv[2]);
  const max = parseScoreBound(argv[3]);
  if (min === null || max === null) return notFloatRange;
  const zset = lookupZset(state, ctx, argv[1]);
  if (zset === undefined) return 0;
  if (!(zset instanceof ZSetValue)) return zset;
  const removed = zset.removeRange(zset.firstAtLeast(min), zset.endAtMost(max));
  if (zset.size === 0) state.db(ctx).remove(argv[1]);
  return removed;
};

function rankGeneric(rev: boolean): DataHandler {
  return (state, argv, ctx) => {
    if (argv.length > 4 || (argv.length === 4 && argv[3].toLowerCase() !== 'withscore')) return Errors.syntax;
    const withScore = argv.length === 4;
    const zset = lookupZset(state, ctx, argv[1]);
    if (zset !== undefined && !(zset instanceof ZSetValue)) return zset;
    const rank = zset === undefined ? -1 : zset.rank(argv[2]);
    if (rank === -1) return withScore ? NullArray.instance : null;
    const r = rev ? zset!.size - 1 - rank : rank;
    return withScore ? [r, new DoubleReply(zset!.score(argv[2])!)] : r;
  };
}

const W = ['write', 'denyoom', 'fast'] as const;
const RF = ['readonly', 'fast'] as const;
const R = ['readonly'] as const;

export const zsetCommands: ReadonlyArray<CommandDef<DataHandler>> = [
  dataCommand('zadd', -4, W, 'sorted_set', 'Adds one or more members to a sorted set, or updates their scores.', zadd, { keys: ONE_KEY }),
  dataCommand('zincrby', 4, W, 'sorted_set', 'Increments the score of a member in a sorted set.', zincrby, { keys: ONE_KEY }),
  dataCommand('zrem', -3, ['write', 'fast'], 'sorted_set', 'Removes one or more members from a sorted set.', zrem, { keys: ONE_KEY }),
  dataCommand('zcard', 2, RF, 'sorted_set', 'Returns the number of members in a sorted set.', zcard, { keys: ONE_KEY }),
  dataCommand('zscore', 3, RF, 'sorted_set', 'Returns the score of a member in a sorted set.', zscore, { keys: ONE_KEY }),
  dataCommand('zcount', 4, RF, 'sorted_set', 'Returns the count of members in a sorted set that have scores within a range.', zcount, { keys: ONE_KEY }),
  dataCommand('zrange', -4, R, 'sorted_set', 'Returns members in a sorted set within a range of indexes or scores.', zrange, { keys: ONE_KEY }),
  dataCommand('zrevrange', -4, R, 'sorted_set', 'Returns members in a sorted set within a range of indexes, highest score first.', zrevrange, { keys: ONE_KEY }),
  dataCommand('zrangebyscore', -4, R, 'sorted_set', 'Returns members in a sorted set within a range of scores.', zrangebyscore, { keys: ONE_KEY }),
  dataCommand('zrevrangebyscore', -4, R, 'sorted_set', 'Returns members in a sorted set within a range of scores, highest first.', zrevrangebyscore, { keys: ONE_KEY }),
  dataCommand('zremrangebyscore', 4, ['write'], 'sorted_set', 'Removes members in a sorted set within a range of scores.', zremrangebyscore, { keys: ONE_KEY }),
  dataCommand('zrank', -3, RF, 'sorted_set', 'Returns the index of a member in a sorted set ordered by ascending scores.', rankGeneric(false), { keys: ONE_KEY }),
  dataCommand('zrevrank', -3, RF, 'sorted_set', 'Returns the index of a member in a sorted set ordered by descending scores.', rankGeneric(true), { keys: ONE_KEY }),
];
