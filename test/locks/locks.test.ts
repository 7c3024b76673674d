// Proves the lock commands keep their promises: LOCK replies a fencing token equal to the log
// index of the granting entry; a retried LOCK by the holder keeps the token and extends the TTL;
// another owner gets nil; an expired lock is re-granted with a larger token; a stale owner can
// neither UNLOCK nor HEARTBEAT; LOCKINFO shows owner/token/ttl; and locks taken with
// SET NX PX, released with DELIFEQ/DELEX, or extended with SET same-value interoperate with
// LOCK/UNLOCK on the same key. Every command is a log entry applied at an explicit time.

import t from 'tap';
import { err, Errors, MapReply, OK } from '../../src/resp/reply';
import { Harness } from './harness';

const info = (owner: string, token: number, ttlMs: number): MapReply => new MapReply([['owner', owner], ['token', token], ['ttl_ms', ttlMs]]);

t.test('acquire, idempotent re-acquire, contention, release', (t) => {
  const h = new Harness();
  h.run('SET', 'unrelated', 'x'); // index 1
  t.equal(h.run('LOCK', 'L', 'alice', 30000), 2, 'token is the log index of the grant');
  h.advance(1000);
  t.equal(h.run('LOCK', 'L', 'alice', 30000), 2, 'holder re-acquire keeps the token');
  t.strictSame(h.read('LOCKINFO', 'L'), info('alice', 2, 30000), 'and resets the TTL');
  t.equal(h.run('LOCK', 'L', 'bob', 30000), null, 'another owner gets nil');
  t.equal(h.run('UNLOCK', 'L', 'bob'), 0, 'a non-owner cannot release');
  t.equal(h.run('HEARTBEAT', 'L', 'bob', 30000), 0, 'a non-owner cannot heartbeat');
  t.strictSame(h.read('LOCKINFO', 'L'), info('alice', 2, 30000), 'nothing changed');
  t.equal(h.run('UNLOCK', 'L', 'alice'), 1);
  t.equal(h.read('LOCKINFO', 'L'), null);
  t.equal(h.run('UNLOCK', 'L', 'alice'), 0, 'a second release is a no-op');
  const token = h.run('LOCK', 'L', 'bob', 30000);
  t.equal(token, h.index, 'bob gets the current index');
  t.ok((token as number) > 2, 'a later grant has a larger token');
  t.end();
});

t.test('expiry: re-granted with a larger token; the stale owner is locked out', (t) => {
  const h = new Harness();
  const first = h.run('LOCK', 'L', 'alice', 1000) as number;
  h.advance(999);
  t.equal(h.run('HEARTBEAT', 'L', 'alice', 1000), 1, 'heartbeat before the deadline extends');
  h.advance(999);
  t.strictSame(h.read('LOCKINFO', 'L'), info('alice', first, 1), 'still held 1 ms before the new deadline');
  h.advance(1);
  t.equal(h.read('LOCKINFO', 'L'), null, 'free exactly at the deadline');
  t.equal(h.run('HEARTBEAT', 'L', 'alice', 1000), 0, 'heartbeat after expiry fails');
  const second = h.run('LOCK', 'L', 'bob', 1000) as number;
  t.ok(second > first, `new token ${second} > old token ${first}`);
  t.equal(h.run('UNLOCK', 'L', 'alice'), 0, 'the stale owner cannot release the new grant');
  t.equal(h.run('LOCK', 'L', 'alice', 1000), null, 'nor take it');
  t.strictSame(h.read('LOCKINFO', 'L'), info('bob', second, 1000));
  h.advance(1000);
  const third = h.run('LOCK', 'L', 'alice', 1000) as number;
  t.ok(third > second, 'the original owner re-acquiring after expiry gets a fresh, larger token');
  t.end();
});

t.test('argument errors and WRONGTYPE leave state unchanged', (t) => {
  const h = new Harness();
  t.strictSame(h.run('LOCK', 'L', 'a', 0), err("ERR invalid expire time in 'lock' command"));
  t.strictSame(h.run('LOCK', 'L', 'a', -5), err("ERR invalid expire time in 'lock' command"));
  t.strictSame(h.run('LOCK', 'L', 'a', 'soon'), Errors.notInteger);
  t.strictSame(h.run('LOCK', 'L', 'a', '9007199254740991'), err("ERR invalid expire time in 'lock' command"));
  t.strictSame(h.run('HEARTBEAT', 'L', 'a', 0), err("ERR invalid expire time in 'heartbeat' command"));
  t.equal(h.read('EXISTS', 'L'), 0);
  h.run('ZADD', 'Z', 1, 'a');
  const before = h.read('ZRANGE', 'Z', 0, -1, 'WITHSCORES');
  t.strictSame(h.run('LOCK', 'Z', 'a', 1000), Errors.wrongType);
  t.strictSame(h.run('UNLOCK', 'Z', 'a'), Errors.wrongType);
  t.strictSame(h.run('HEARTBEAT', 'Z', 'a', 1000), Errors.wrongType);
  t.strictSame(h.read('LOCKINFO', 'Z'), Errors.wrongType);
  t.strictSame(h.read('ZRANGE', 'Z', 0, -1, 'WITHSCORES'), before, 'the zset is untouched');
  t.strictSame(h.read('PTTL', 'Z'), -1);
  t.end();
});

t.test('a lock taken with SET NX PX is a lock: it has a token, LOCK/UNLOCK see it', (t) => {
  const h = new Harness();
  h.run('SET', 'x', '1');
  t.strictSame(h.run('SET', 'L', 'tok-a', 'NX', 'PX', 30000), OK);
  const token = h.index;
  t.strictSame(h.read('LOCKINFO', 'L'), info('tok-a', token, 30000));
  t.equal(h.run('LOCK', 'L', 'tok-a', 5000), token, 'LOCK by the same value returns the SET-granted token');
  t.equal(h.run('LOCK', 'L', 'tok-b', 5000), null);
  // redlock's extend: SET key sameValue PX ms keeps the token
  h.advance(100);
  t.strictSame(h.run('SET', 'L', 'tok-a', 'PX', 60000), OK);
  t.strictSame(h.read('LOCKINFO', 'L'), info('tok-a', token, 60000), 'same value: same token');
  // a new value is a new grant
  t.strictSame(h.run('SET', 'L', 'tok-c', 'PX', 60000), OK);
  t.strictSame(h.read('LOCKINFO', 'L'), info('tok-c', h.index, 60000), 'changed value: token of that entry');
  t.equal(h.run('DELIFEQ', 'L', 'tok-a'), 0, 'DELIFEQ with the old value is refused');
  t.equal(h.run('UNLOCK', 'L', 'tok-c'), 1, 'UNLOCK releases a SET-taken lock');
  t.end();
});

t.test('a LOCK-taken lock is a string: GET shows the owner, DELIFEQ/DELEX release it', (t) => {
  const h = new Harness();
  h.run('LOCK', 'L', 'owner-1', 10000);
  t.equal(h.run('GET', 'L'), 'owner-1');
  t.equal(h.run('PTTL', 'L'), 10000);
  t.equal(h.run('DELIFEQ', 'L', 'owner-2'), 0);
  t.equal(h.run('DELIFEQ', 'L', 'owner-1'), 1);
  h.run('LOCK', 'L', 'owner-3', 10000);
  t.equal(h.run('DELEX', 'L', 'IFEQ', 'owner-3'), 1);
  t.equal(h.read('EXISTS', 'L'), 0);
  t.end();
});

t.test('LOCKINFO of a key without TTL shows ttl_ms -1; absent shows nil', (t) => {
  const h = new Harness();
  h.run('SET', 'K', 'v');
  t.strictSame(h.read('LOCKINFO', 'K'), info('v', 1, -1));
  t.equal(h.read('LOCKINFO', 'nope'), null);
  t.equal(h.run('LOCK', 'K', 'v', 500), 1, 'LOCK by the value holder adds a TTL, keeps the token');
  t.strictSame(h.read('LOCKINFO', 'K'), info('v', 1, 500));
  t.end();
});

t.test('fencing tokens grow strictly across many grants and keys', (t) => {
  const h = new Harness();
  let last = 0;
  let grants = 0;
  for (let i = 0; i < 500; i++) {
    const key = `L${i % 7}`;
    const owner = `o${i % 3}`;
    const reply = h.run('LOCK', key, owner, 50);
    if (typeof reply === 'number' && reply === h.index) {
      t.ok(reply > last, 'new grant token grows');
      last = reply;
      grants++;
    }
    if (i % 5 === 0) h.run('UNLOCK', key, owner);
    h.advance(13);
  }
  t.ok(grants > 50, `${grants} fresh grants checked`);
  t.end();
});
