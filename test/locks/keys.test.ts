// Proves the generic key commands follow Redis 7.2: the PEXPIRE NX/XX/GT/LT matrix and its error
// texts, expire-in-the-past deletes, TTL rounding, expiry exactly at the deadline, exact PTTL for a
// 9.007e14 ms TTL, EXPIREAT/EXPIRETIME round-trips, DEL/EXISTS counting, TYPE, KEYS globbing, and
// that SCAN returns every key that exists for the whole scan even with inserts and deletes between
// calls. Rows run through apply() with explicit entry times.

import t from 'tap';
import { err, Errors, MapReply, OK, SimpleString } from '../../src/resp/reply';
import { Harness, runTable, T0, type Row } from './harness';

const withTtl = (ms: number) => [['SET', 'k', 'v', 'PX', ms]];
const noTtl = [['SET', 'k', 'v']];

const rows: Row[] = [
  // PEXPIRE option matrix
  { name: 'PEXPIRE sets', setup: noTtl, cmd: ['PEXPIRE', 'k', 2000], want: 1, then: [[['PTTL', 'k'], 2000]] },
  { name: 'PEXPIRE absent key', cmd: ['PEXPIRE', 'k', 2000], want: 0 },
  { name: 'NX without TTL', setup: noTtl, cmd: ['PEXPIRE', 'k', 2000, 'NX'], want: 1, then: [[['PTTL', 'k'], 2000]] },
  { name: 'NX with TTL', setup: withTtl(1000), cmd: ['PEXPIRE', 'k', 2000, 'NX'], want: 0, then: [[['PTTL', 'k'], 1000]] },
  { name: 'XX without TTL', setup: noTtl, cmd: ['PEXPIRE', 'k', 2000, 'XX'], want: 0, then: [[['PTTL', 'k'], -1]] },
  { name: 'XX with TTL', setup: withTtl(1000), cmd: ['PEXPIRE', 'k', 2000, 'xx'], want: 1, then: [[['PTTL', 'k'], 2000]] },
  { name: 'GT without TTL (infinite) fails', setup: noTtl, cmd: ['PEXPIRE', 'k', 2000, 'GT'], want: 0, then: [[['PTTL', 'k'], -1]] },
  { name: 'GT greater', setup: withTtl(1000), cmd: ['PEXPIRE', 'k', 2000, 'GT'], want: 1, then: [[['PTTL', 'k'], 2000]] },
  { name: 'GT equal fails', setup: withTtl(1000), cmd: ['PEXPIRE', 'k', 1000, 'GT'], want: 0 },
  { name: 'GT smaller fails', setup: withTtl(1000), cmd: ['PEXPIRE', 'k', 500, 'GT'], want: 0, then: [[['PTTL', 'k'], 1000]] },
  { name: 'LT without TTL succeeds', setup: noTtl, cmd: ['PEXPIRE', 'k', 2000, 'LT'], want: 1, then: [[['PTTL', 'k'], 2000]] },
  { name: 'LT smaller', setup: withTtl(1000), cmd: ['PEXPIRE', 'k', 500, 'LT'], want: 1, then: [[['PTTL', 'k'], 500]] },
  { name: 'LT greater fails', setup: withTtl(1000), cmd: ['PEXPIRE', 'k', 2000, 'LT'], want: 0, then: [[['PTTL', 'k'], 1000]] },
  { name: 'XX GT together', setup: withTtl(1000), cmd: ['PEXPIRE', 'k', 2000, 'XX', 'GT'], want: 1 },
  { name: 'NX XX incompatible', setup: noTtl, cmd: ['PEXPIRE', 'k', 2000, 'NX', 'XX'], want: err('ERR NX and XX, GT or LT options at the same time are not compatible') },
  { name: 'NX GT incompatible', setup: noTtl, cmd: ['PEXPIRE', 'k', 2000, 'GT', 'NX'], want: err('ERR NX and XX, GT or LT options at the same time are not compatible') },
  { name: 'GT LT incompatible', setup: noTtl, cmd: ['PEXPIRE', 'k', 2000, 'GT', 'LT'], want: err('ERR GT and LT options at the same time are not compatible') },
  { name: 'unsupported option', setup: noTtl, cmd: ['PEXPIRE', 'k', 2000, 'foo'], want: err('ERR Unsupported option foo') },
  { name: 'not an integer', setup: noTtl, cmd: ['PEXPIRE', 'k', '1e3'], want: Errors.notInteger },
  { name: 'PEXPIRE 0 deletes', setup: noTtl, cmd: ['PEXPIRE', 'k', 0], want: 1, then: [[['EXISTS', 'k'], 0]] },
  { name: 'EXPIRE negative deletes', setup: noTtl, cmd: ['EXPIRE', 'k', -10], want: 1, then: [[['EXISTS', 'k'], 0]] },
  { name: 'EXPIRE overflow is invalid even for a missing key', cmd: ['EXPIRE', 'k', '9223372036854775807'], want: err("ERR invalid expire time in 'expire' command") },
  { name: 'PEXPIRE past 2^53 is invalid', setup: noTtl, cmd: ['PEXPIRE', 'k', '9007199254740000'], want: err("ERR invalid expire time in 'pexpire' command") },
  { name: 'EXPIREAT past deletes', setup: noTtl, cmd: ['EXPIREAT', 'k', 100], want: 1, then: [[['EXISTS', 'k'], 0]] },
  { name: 'PEXPIREAT future', setup: noTtl, cmd: ['PEXPIREAT', 'k', T0 + 1234], want: 1, then: [[['PTTL', 'k'], 1234], [['PEXPIRETIME', 'k'], T0 + 1234]] },
  { name: 'EXPIREAT future', setup: noTtl, cmd: ['EXPIREAT', 'k', T0 / 1000 + 60], want: 1, then: [[['EXPIRETIME', 'k'], T0 / 1000 + 60]] },
  { name: 'EXPIRETIME without TTL', setup: noTtl, cmd: ['EXPIRETIME', 'k'], want: -1 },
  { name: 'PEXPIRETIME absent', cmd: ['PEXPIRETIME', 'k'], want: -2 },
  { name: 'EXPIRE keeps the fencing token of a string', setup: [['SET', 'k', 'owner', 'NX', 'PX', 100]], cmd: ['PEXPIRE', 'k', 5000], want: 1, then: [[['LOCKINFO', 'k'], lockInfo('owner', 1, 5000)]] },
  // TTL / PTTL
  { name: 'PTTL absent', cmd: ['PTTL', 'k'], want: -2 },
  { name: 'PTTL no TTL', setup: noTtl, cmd: ['PTTL', 'k'], want: -1 },
  { name: 'TTL rounds 1499 ms to 1', setup: withTtl(1499), cmd: ['TTL', 'k'], want: 1 },
  { name: 'TTL rounds 1500 ms to 2', setup: withTtl(1500), cmd: ['TTL', 'k'], want: 2 },
  { name: 'TTL rounds 499 ms to 0', setup: withTtl(499), cmd: ['TTL', 'k'], want: 0 },
  { name: 'PTTL counts down with entry time', setup: withTtl(1000), advanceMs: 400, cmd: ['PTTL', 'k'], want: 600 },
  { name: 'PTTL 1 ms before the deadline', setup: withTtl(1000), advanceMs: 999, cmd: ['PTTL', 'k'], want: 1 },
  { name: 'PTTL exactly at the deadline: gone', setup: withTtl(1000), advanceMs: 1000, cmd: ['PTTL', 'k'], want: -2 },
  { name: 'huge TTL (redlock tests) is exact', setup: withTtl(900719925474099), advanceMs: 7, cmd: ['PTTL', 'k'], want: 900719925474092 },
  { name: 'PERSIST', setup: withTtl(1000), cmd: ['PERSIST', 'k'], want: 1, then: [[['PTTL', 'k'], -1], [['PERSIST', 'k'], 0]] },
  { name: 'PERSIST absent', cmd: ['PERSIST', 'k'], want: 0 },
  // DEL EXISTS TYPE
  { name: 'DEL counts removed keys', setup: [['SET', 'a', '1'], ['SET', 'b', '1']], cmd: ['DEL', 'a', 'b', 'c', 'a'], want: 2, then: [[['EXISTS', 'a', 'b'], 0]] },
  { name: 'DEL does not count an expired key', setup: [['SET', 'a', '1', 'PX', 5]], advanceMs: 5, cmd: ['DEL', 'a'], want: 0 },
  { name: 'UNLINK', setup: [['SET', 'a', '1']], cmd: ['UNLINK', 'a'], want: 1 },
  { name: 'EXISTS counts repeats', setup: [['SET', 'a', '1']], cmd: ['EXISTS', 'a', 'a', 'b', 'a'], want: 3 },
  { name: 'TYPE string', setup: noTtl, cmd: ['TYPE', 'k'], want: new SimpleString('string') },
  { name: 'TYPE zset', setup: [['ZADD', 'k', 1, 'a']], cmd: ['TYPE', 'k'], want: new SimpleString('zset') },
  { name: 'TYPE set', setup: [['SADD', 'k', 'a']], cmd: ['TYPE', 'k'], want: new SimpleString('set') },
  { name: 'TYPE none', cmd: ['TYPE', 'k'], want: new SimpleString('none') },
  // DBSIZE FLUSHDB FLUSHALL
  { name: 'DBSIZE', setup: [['SET', 'a', '1'], ['SADD', 'b', 'x']], cmd: ['DBSIZE'], want: 2 },
  { name: 'FLUSHDB', setup: [['SET', 'a', '1']], cmd: ['FLUSHDB'], want: OK, then: [[['DBSIZE'], 0]] },
  { name: 'FLUSHDB ASYNC', setup: [['SET', 'a', '1']], cmd: ['FLUSHDB', 'async'], want: OK },
  { name: 'FLUSHDB bad mode', setup: [['SET', 'a', '1']], cmd: ['FLUSHDB', 'LATER'], want: Errors.syntax, then: [[['DBSIZE'], 1]] },
  { name: 'FLUSHALL SYNC', setup: [['SET', 'a', '1']], cmd: ['FLUSHALL', 'SYNC'], want: OK, then: [[['DBSIZE'], 0]] },
];

function lockInfo(owner: string, token: number, ttlMs: number): MapReply {
  return new MapReply([['owner', owner], ['token', token], ['ttl_ms', ttlMs]]);
}

runTable(t, rows);

t.test('KEYS globbing follows Redis (* ? [ae] [^e] [a-b] and \\ escapes)', (t) => {
  const h = new Harness();
  const names = ['hello', 'hallo', 'hxllo', 'hllo', 'heeeello', 'h*llo', 'a[b', 'other'];
  for (const name of names) h.run('SET', name, '1');
  h.run('SET', 'hbllo', '1', 'PX', 10);
  h.advance(10); // hbllo is expired: never listed
  const keys = (pattern: string) => (h.read('KEYS', pattern) as string[]).slice().sort();
  t.strictSame(keys('*'), names.slice().sort());
  t.strictSame(keys('h?llo'), ['h*llo', 'hallo', 'hello', 'hxllo']);
  t.strictSame(keys('h*llo'), ['h*llo', 'hallo', 'heeeello', 'hello', 'hllo', 'hxllo']);
  t.strictSame(keys('h[ae]llo'), ['hallo', 'hello']);
  t.strictSame(keys('h[^e]llo'), ['h*llo', 'hallo', 'hxllo']);
  t.strictSame(keys('h[a-b]llo'), ['hallo']);
  t.strictSame(keys('h\\*llo'), ['h*llo']);
  t.strictSame(keys('a\\[b'), ['a[b']);
  t.strictSame(keys('nomatch*'), []);
  t.end();
});

t.test('SCAN returns every key present for the whole scan, despite inserts and deletes', (t) => {
  const h = new Harness();
  for (let i = 0; i < 3000; i++) h.run('SET', `key:${i}`, 'v');
  const seen = new Set<string>();
  const deleted = new Set<string>();
  let cursor = '0';
  let calls = 0;
  let inserted = 0;
  do {
    const [next, keys] = h.read('SCAN', cursor, 'COUNT', 25) as [string, string[]];
    for (const key of keys) seen.add(key);
    cursor = next;
    calls++;
    // Between calls: delete some original keys, insert new ones.
    const victim = `key:${(calls * 7919) % 3000}`;
    if (h.run('DEL', victim) === 1) deleted.add(victim);
    h.run('SET', `new:${inserted++}`, 'v');
  } while (cursor !== '0' && calls < 100_000);
  t.equal(cursor, '0', 'the scan terminates');
  let missing = 0;
  for (let i = 0; i < 3000; i++) if (!deleted.has(`key:${i}`) && !seen.has(`key:${i}`)) missing++;
  t.equal(missing, 0, 'no key that existed throughout is missing');
  t.ok(calls > 10 && calls < 3000, `COUNT bounds the work per call (${calls} calls)`);
  t.end();
});

t.test('SCAN options: MATCH, TYPE, COUNT errors, invalid cursor, expired keys skipped', (t) => {
  const h = new Harness();
  h.run('SET', 'a:1', 'v');
  h.run('SET', 'a:2', 'v', 'PX', 5);
  h.run('SADD', 'a:3', 'm');
  h.run('SET', 'b:1', 'v');
  h.advance(5);
  const all = (...opts: string[]) => {
    const out: string[] = [];
    let cursor = '0';
    do {
      const reply = h.read('SCAN', cursor, ...opts) as [string, string[]];
      cursor = reply[0];
      out.push(...reply[1]);
    } while (cursor !== '0');
    return out.sort();
  };
  t.strictSame(all(), ['a:1', 'a:3', 'b:1']);
  t.strictSame(all('MATCH', 'a:*'), ['a:1', 'a:3']);
  t.strictSame(all('TYPE', 'set'), ['a:3']);
  t.strictSame(all('match', 'a:*', 'type', 'string', 'count', '1000'), ['a:1']);
  t.strictSame(h.read('SCAN', '0', 'COUNT', '0'), Errors.syntax);
  t.strictSame(h.read('SCAN', '0', 'COUNT', 'x'), Errors.notInteger);
  t.strictSame(h.read('SCAN', 'abc'), err('ERR invalid cursor'));
  t.strictSame(h.read('SCAN', '0', 'TYPE', 'bogus'), err("ERR unknown type name 'bogus'"));
  t.strictSame(h.read('SCAN', '0', 'MATCH'), Errors.syntax);
  t.strictSame(new Harness().read('SCAN', '0'), ['0', []]);
  t.end();
});

t.test('databases are independent', (t) => {
  const h = new Harness();
  h.run('SET', 'k', 'zero');
  h.db = 3;
  t.equal(h.run('GET', 'k'), null);
  h.run('SET', 'k', 'three');
  h.db = 0;
  t.equal(h.run('GET', 'k'), 'zero');
  t.strictSame(h.sm.apply({ kind: 'cmd', db: 16, argv: ['GET', 'k'], timeMs: T0 }, ++h.index), Errors.dbIndexOutOfRange);
  t.end();
});
