// Proves the sorted-set and set commands follow Redis 7.2: ZADD flags (NX XX GT LT CH INCR) and
// their error texts, scores as doubles including inf, (score, member) ordering, ZRANGE by rank and
// BYSCORE with REV/LIMIT/WITHSCORES/exclusive bounds, ZRANGEBYSCORE, ZREMRANGEBYSCORE, ZRANK
// WITHSCORE, empty sets disappearing, and WRONGTYPE without modification. Table rows via apply().

import t from 'tap';
import { DoubleReply, err, Errors, NullArray, SetReply } from '../../src/resp/reply';
import { runTable, type Row } from './harness';

const d = (n: number): DoubleReply => new DoubleReply(n);
const base = [['ZADD', 'z', 1, 'a', 2, 'b', 3, 'c', 3, 'bb', '-inf', 'lo', '+inf', 'hi']];

const rows: Row[] = [
  { name: 'ZADD adds', cmd: ['ZADD', 'z', 1, 'a', 2, 'b'], want: 2, then: [[['ZCARD', 'z'], 2]] },
  { name: 'ZADD update counts 0 without CH', setup: [['ZADD', 'z', 1, 'a']], cmd: ['ZADD', 'z', 5, 'a', 2, 'b'], want: 1, then: [[['ZSCORE', 'z', 'a'], d(5)]] },
  { name: 'ZADD CH counts changes', setup: [['ZADD', 'z', 1, 'a', 1, 'c']], cmd: ['ZADD', 'z', 'CH', 5, 'a', 2, 'b', 1, 'c'], want: 2 },
  { name: 'ZADD NX does not update', setup: [['ZADD', 'z', 1, 'a']], cmd: ['ZADD', 'z', 'NX', 5, 'a', 2, 'b'], want: 1, then: [[['ZSCORE', 'z', 'a'], d(1)]] },
  { name: 'ZADD XX does not add', setup: [['ZADD', 'z', 1, 'a']], cmd: ['ZADD', 'z', 'XX', 5, 'a', 2, 'b'], want: 0, then: [[['ZSCORE', 'z', 'a'], d(5)], [['ZSCORE', 'z', 'b'], null]] },
  { name: 'ZADD XX on missing key creates nothing', cmd: ['ZADD', 'z', 'XX', 5, 'a'], want: 0, then: [[['EXISTS', 'z'], 0]] },
  { name: 'ZADD GT updates only upward, still adds', setup: [['ZADD', 'z', 5, 'a', 5, 'b']], cmd: ['ZADD', 'z', 'GT', 'CH', 6, 'a', 4, 'b', 1, 'c'], want: 2, then: [[['ZSCORE', 'z', 'a'], d(6)], [['ZSCORE', 'z', 'b'], d(5)]] },
  { name: 'ZADD LT updates only downward', setup: [['ZADD', 'z', 5, 'a', 5, 'b']], cmd: ['ZADD', 'z', 'LT', 'CH', 6, 'a', 4, 'b'], want: 1, then: [[['ZSCORE', 'z', 'b'], d(4)]] },
  { name: 'ZADD INCR', setup: [['ZADD', 'z', 1.5, 'a']], cmd: ['ZADD', 'z', 'INCR', 2, 'a'], want: d(3.5) },
  { name: 'ZADD INCR NX on existing replies null', setup: [['ZADD', 'z', 1, 'a']], cmd: ['ZADD', 'z', 'NX', 'INCR', 2, 'a'], want: null },
  { name: 'ZADD INCR XX on missing key replies null', cmd: ['ZADD', 'z', 'XX', 'INCR', 2, 'a'], want: null },
  { name: 'ZADD INCR GT blocked replies null', setup: [['ZADD', 'z', 1, 'a']], cmd: ['ZADD', 'z', 'GT', 'INCR', -2, 'a'], want: null },
  { name: 'ZADD INCR two pairs', cmd: ['ZADD', 'z', 'INCR', 1, 'a', 2, 'b'], want: err('ERR INCR option supports a single increment-element pair') },
  { name: 'ZADD INCR to NaN', setup: [['ZADD', 'z', '+inf', 'a']], cmd: ['ZADD', 'z', 'INCR', '-inf', 'a'], want: err('ERR resulting score is not a number (NaN)') },
  { name: 'ZADD NX XX', cmd: ['ZADD', 'z', 'NX', 'XX', 1, 'a'], want: err('ERR XX and NX options at the same time are not compatible') },
  { name: 'ZADD GT LT', cmd: ['ZADD', 'z', 'GT', 'LT', 1, 'a'], want: err('ERR GT, LT, and/or NX options at the same time are not compatible') },
  { name: 'ZADD GT NX', cmd: ['ZADD', 'z', 'NX', 'GT', 1, 'a'], want: err('ERR GT, LT, and/or NX options at the same time are not compatible') },
  { name: 'ZADD odd pairs', cmd: ['ZADD', 'z', 1, 'a', 2], want: Errors.syntax },
  { name: 'ZADD flags only', cmd: ['ZADD', 'z', 'NX', 'CH'], want: Errors.syntax },
  { name: 'ZADD bad score adds nothing', cmd: ['ZADD', 'z', 1, 'a', 'x', 'b'], want: Errors.notFloat, then: [[['EXISTS', 'z'], 0]] },
  { name: 'ZADD nan score', cmd: ['ZADD', 'z', 'nan', 'a'], want: Errors.notFloat },
  { name: 'ZADD on a string is WRONGTYPE', setup: [['SET', 'z', 'v']], cmd: ['ZADD', 'z', 1, 'a'], want: Errors.wrongType, then: [[['GET', 'z'], 'v']] },
  { name: 'ZINCRBY', setup: [['ZADD', 'z', 1, 'a']], cmd: ['ZINCRBY', 'z', '2.5', 'a'], want: d(3.5) },
  { name: 'ZREM removes and deletes empty key', setup: [['ZADD', 'z', 1, 'a', 2, 'b']], cmd: ['ZREM', 'z', 'a', 'b', 'c'], want: 2, then: [[['EXISTS', 'z'], 0]] },
  { name: 'ZSCORE missing member', setup: base, cmd: ['ZSCORE', 'z', 'nope'], want: null },
  { name: 'ZSCORE inf', setup: base, cmd: ['ZSCORE', 'z', 'lo'], want: d(-Infinity) },
  { name: 'ZRANGE all: ordered by score then member', setup: base, cmd: ['ZRANGE', 'z', 0, -1], want: ['lo', 'a', 'b', 'bb', 'c', 'hi'] },
  { name: 'ZRANGE WITHSCORES', setup: base, cmd: ['ZRANGE', 'z', 1, 2, 'WITHSCORES'], want: ['a', d(1), 'b', d(2)] },
  { name: 'ZRANGE REV by rank', setup: base, cmd: ['ZRANGE', 'z', 0, 1, 'REV'], want: ['hi', 'c'] },
  { name: 'ZRANGE negative out of range', setup: base, cmd: ['ZRANGE', 'z', -100, 1], want: ['lo', 'a'] },
  { name: 'ZRANGE start > stop', setup: base, cmd: ['ZRANGE', 'z', 3, 1], want: [] },
  { name: 'ZRANGE BYSCORE', setup: base, cmd: ['ZRANGE', 'z', 2, 3, 'BYSCORE'], want: ['b', 'bb', 'c'] },
  { name: 'ZRANGE BYSCORE exclusive', setup: base, cmd: ['ZRANGE', 'z', '(2', '(3', 'BYSCORE'], want: [] },
  { name: 'ZRANGE BYSCORE -inf +inf LIMIT', setup: base, cmd: ['ZRANGE', 'z', '-inf', '+inf', 'BYSCORE', 'LIMIT', 1, 2], want: ['a', 'b'] },
  { name: 'ZRANGE BYSCORE REV takes max first', setup: base, cmd: ['ZRANGE', 'z', 3, '(1', 'BYSCORE', 'REV', 'WITHSCORES'], want: ['c', d(3), 'bb', d(3), 'b', d(2)] },
  { name: 'ZRANGE BYSCORE REV LIMIT', setup: base, cmd: ['ZRANGE', 'z', '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 1, 1], want: ['c'] },
  { name: 'ZRANGE LIMIT needs BYSCORE', setup: base, cmd: ['ZRANGE', 'z', 0, 1, 'LIMIT', 0, 1], want: err('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX') },
  { name: 'ZRANGE bad index', setup: base, cmd: ['ZRANGE', 'z', 'a', 1], want: Errors.notInteger },
  { name: 'ZRANGE bad score', setup: base, cmd: ['ZRANGE', 'z', 'a', 1, 'BYSCORE'], want: err('ERR min or max is not a float') },
  { name: 'ZRANGE unknown option', setup: base, cmd: ['ZRANGE', 'z', 0, 1, 'FOO'], want: Errors.syntax },
  { name: 'ZRANGE missing key', cmd: ['ZRANGE', 'z', 0, -1], want: [] },
  { name: 'ZRANGE on a string', setup: [['SET', 'z', 'v']], cmd: ['ZRANGE', 'z', 0, -1], want: Errors.wrongType },
  { name: 'ZRANGEBYSCORE WITHSCORES LIMIT', setup: base, cmd: ['ZRANGEBYSCORE', 'z', '(1', 'inf', 'WITHSCORES', 'LIMIT', 0, 2], want: ['b', d(2), 'bb', d(3)] },
  { name: 'ZRANGEBYSCORE rejects REV', setup: base, cmd: ['ZRANGEBYSCORE', 'z', 0, 1, 'REV'], want: Errors.syntax },
  { name: 'ZREVRANGEBYSCORE', setup: base, cmd: ['ZREVRANGEBYSCORE', 'z', 3, 2], want: ['c', 'bb', 'b'] },
  { name: 'ZREVRANGE', setup: base, cmd: ['ZREVRANGE', 'z', 0, 0, 'WITHSCORES'], want: ['hi', d(Infinity)] },
  { name: 'ZCOUNT', setup: base, cmd: ['ZCOUNT', 'z', '(1', 3], want: 3 },
  { name: 'ZREMRANGEBYSCORE', setup: base, cmd: ['ZREMRANGEBYSCORE', 'z', '-inf', '(3'], want: 3, then: [[['ZRANGE', 'z', 0, -1], ['bb', 'c', 'hi']]] },
  { name: 'ZREMRANGEBYSCORE all deletes key', setup: base, cmd: ['ZREMRANGEBYSCORE', 'z', '-inf', '+inf'], want: 6, then: [[['EXISTS', 'z'], 0]] },
  { name: 'ZREMRANGEBYSCORE bad bound', setup: base, cmd: ['ZREMRANGEBYSCORE', 'z', 'x', 1], want: err('ERR min or max is not a float') },
  { name: 'ZRANK', setup: base, cmd: ['ZRANK', 'z', 'b'], want: 2 },
  { name: 'ZRANK WITHSCORE', setup: base, cmd: ['ZRANK', 'z', 'bb', 'WITHSCORE'], want: [3, d(3)] },
  { name: 'ZRANK missing', setup: base, cmd: ['ZRANK', 'z', 'nope'], want: null },
  { name: 'ZRANK missing WITHSCORE', setup: base, cmd: ['ZRANK', 'z', 'nope', 'WITHSCORE'], want: NullArray.instance },
  { name: 'ZREVRANK', setup: base, cmd: ['ZREVRANK', 'z', 'hi'], want: 0 },
  { name: 'ZCARD missing', cmd: ['ZCARD', 'z'], want: 0 },
  // sets
  { name: 'SADD counts new members', setup: [['SADD', 's', 'a']], cmd: ['SADD', 's', 'a', 'b', 'b', 'c'], want: 2, then: [[['SCARD', 's'], 3]] },
  { name: 'SREM removes and deletes empty key', setup: [['SADD', 's', 'a', 'b']], cmd: ['SREM', 's', 'a', 'b', 'x'], want: 2, then: [[['EXISTS', 's'], 0]] },
  { name: 'SISMEMBER', setup: [['SADD', 's', 'a']], cmd: ['SISMEMBER', 's', 'a'], want: 1, then: [[['SISMEMBER', 's', 'b'], 0]] },
  { name: 'SMEMBERS', setup: [['SADD', 's', 'a', 'b']], cmd: ['SMEMBERS', 's'], want: new SetReply(['a', 'b']) },
  { name: 'SMEMBERS missing', cmd: ['SMEMBERS', 's'], want: new SetReply([]) },
  { name: 'SADD on a string is WRONGTYPE', setup: [['SET', 's', 'v']], cmd: ['SADD', 's', 'a'], want: Errors.wrongType, then: [[['GET', 's'], 'v']] },
  { name: 'SCARD on a zset is WRONGTYPE', setup: [['ZADD', 's', 1, 'a']], cmd: ['SCARD', 's'], want: Errors.wrongType },
];

runTable(t, rows);
