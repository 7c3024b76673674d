// Proves the state machine properties the Raft layer relies on: the logical clock never goes
// backwards and a `leader` entry pauses it (deadlines extended, never shortened); read() never
// changes state (same digest); `expire` entries delete only still-expired keys; expiredKeys()
// finds expired keys through the heap without losing any; malformed entries reply errors instead
// of throwing; two replicas fed the same seeded random stream end with equal replies and digests;
// and snapshot/restore reproduces the digest, including mid-stream.

import t from 'tap';
import { Errors, OK, err, type Reply } from '../../src/resp/reply';
import { StateMachine } from '../../src/locks/state_machine';
import { freeSnapshotBuffer } from '../../src/locks/snapshot';
import { Database, Entry } from '../../src/locks/keyspace';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { LogCommand } from '../../src/locks/types';
import { Harness, stubEngine, T0 } from './harness';

t.test('leader entries pause time: deadlines extend, never shorten', (t) => {
  const h = new Harness();
  h.run('SET', 'k', 'v', 'PX', 10000);
  h.run('PEXPIREAT', 'abs', T0 + 20000); // absent key: 0, nothing stored
  h.run('SET', 'abs', 'v', 'PXAT', T0 + 20000);
  h.advance(5000);
  t.equal(h.run('PTTL', 'k'), 5000);
  h.leader(3000); // a new leader at T0+5000; time stands still for 3000 ms
  t.equal(h.run('PTTL', 'k'), 5000);
  h.advance(2999);
  t.equal(h.run('PTTL', 'k'), 5000, 'paused');
  t.equal(h.read('PTTL', 'k'), 5000, 'paused on the read path too');
  h.advance(1001);
  t.equal(h.run('PTTL', 'k'), 4000, 'time flows again after the pause');
  t.equal(h.run('PEXPIRETIME', 'abs'), T0 + 23000, 'absolute deadlines are pushed back by the pause too');
  t.equal(h.run('PTTL', 'abs'), 14000, 'logical now is T0+6000 at wall T0+9000');
  h.run('PEXPIREAT', 'k', T0 + 30000);
  t.equal(h.run('PEXPIRETIME', 'k'), T0 + 30000, 'PEXPIREAT after a pause round-trips');
  t.equal(h.sm.logicalNow(h.nowMs), h.sm.stats().clockMs);
  h.leader(0);
  h.leader(-5000);
  t.equal(h.run('PEXPIRETIME', 'k'), T0 + 30000, 'a zero or negative extension changes nothing');
  t.end();
});

t.test('the clock never goes backwards', (t) => {
  const h = new Harness();
  h.run('SET', 'k', 'v', 'PX', 1000);
  h.advance(600);
  t.equal(h.run('PTTL', 'k'), 400);
  h.nowMs = T0; // a leader with a slower clock
  t.equal(h.run('PTTL', 'k'), 400, 'an older entry time does not give time back');
  t.equal(h.read('PTTL', 'k'), 400);
  t.equal(h.sm.logicalNow(T0 - 100000), T0 + 600);
  t.end();
});

t.test('read() never mutates: expired keys are hidden, not deleted; writes are refused', (t) => {
  const h = new Harness();
  h.run('SET', 'live', 'v');
  h.run('SET', 'dead', 'v', 'PX', 10);
  h.run('ZADD', 'z', 1, 'a');
  h.run('SCRIPT', 'LOAD', 'GET $K1');
  h.advance(10);
  const before = h.sm.digest();
  const statsBefore = h.sm.stats();
  t.equal(h.read('GET', 'dead'), null);
  t.equal(h.read('EXISTS', 'dead', 'live'), 1);
  t.strictSame((h.read('KEYS', '*') as string[]).slice().sort(), ['live', 'z']);
  t.equal(h.read('DBSIZE'), 3, 'DBSIZE counts the not-yet-deleted key, as Redis does');
  h.read('SCAN', 0, 'COUNT', 1000);
  h.read('EVAL_RO', 'GET $K1', 1, 'dead');
  h.read('EVAL_RO', 'SET $K1 x', 1, 'dead');
  h.read('EVAL_RO', 'ECHO x', 0); // an uncached body: not added to the cache on the read path
  t.strictSame(h.read('SET', 'x', 'y'), err("ERR 'set' is not a read-only command"));
  t.strictSame(h.read('DEL', 'dead'), err("ERR 'del' is not a read-only command"));
  t.strictSame(h.sm.read(99, ['GET', 'x'], h.nowMs), Errors.dbIndexOutOfRange);
  t.equal(h.sm.digest(), before, 'digest unchanged');
  t.strictSame(h.sm.stats(), statsBefore);
  t.equal(h.run('GET', 'dead'), null, 'the write path deletes it lazily');
  t.equal(h.read('DBSIZE'), 2);
  t.end();
});

t.test('expire entries and expiredKeys(): the leader sweep', (t) => {
  const h = new Harness();
  for (let i = 0; i < 50; i++) h.run('SET', `k${i}`, 'v', 'PX', 100 + i);
  h.db = 1;
  h.run('SET', 'other', 'v', 'PX', 100);
  h.db = 0;
  h.run('SET', 'forever', 'v');
  h.run('PEXPIRE', 'k0', 100000); // k0's first deadline is now stale in the heap
  t.strictSame(h.sm.expiredKeys(h.nowMs, 100), [], 'nothing expired yet');
  h.advance(110); // k1..k10 expired (deadlines 101..110), and db1's key
  const groups = h.sm.expiredKeys(h.nowMs, 100);
  t.strictSame(groups.map((g) => g.db), [0, 1]);
  t.strictSame(groups[0].keys.slice().sort(), ['k1', 'k10', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9']);
  t.strictSame(h.sm.expiredKeys(h.nowMs, 100), groups, 'asking again loses nothing');
  t.equal(h.sm.expiredKeys(h.nowMs, 4)[0].keys.length, 4, 'bounded by max');
  h.run('SET', 'k1', 'fresh'); // re-set before the sweep commits: must survive it
  t.equal(h.expire(groups[0].keys), 9, 'the entry deletes only keys still expired');
  t.equal(h.run('GET', 'k1'), 'fresh');
  t.equal(h.expire(['other'], 1), 1);
  t.strictSame(h.sm.expiredKeys(h.nowMs, 100), []);
  t.equal(h.sm.stats().keysPerDb[0], 50 - 9 + 1);
  t.end();
});

t.test('malformed entries reply errors instead of throwing', (t) => {
  const h = new Harness();
  const apply = (cmd: unknown): Reply => h.sm.apply(cmd as LogCommand, ++h.index);
  t.strictSame(apply({ kind: 'cmd', db: 0, argv: 'GET k', timeMs: T0 }), err('ERR malformed log entry'));
  t.strictSame(apply({ kind: 'cmd', db: 0, argv: [], timeMs: T0 }), err('ERR malformed log entry'));
  t.strictSame(apply({ kind: 'cmd', db: 0, argv: ['GET', 5], timeMs: T0 }), err('ERR malformed log entry'));
  t.strictSame(apply({ kind: 'cmd', db: -1, argv: ['GET', 'k'], timeMs: T0 }), Errors.dbIndexOutOfRange);
  t.strictSame(apply({ kind: 'cmd', db: 0, argv: ['NOPE', 'a'], timeMs: T0 }), err("ERR unknown command 'NOPE', with args beginning with: 'a' "));
  t.strictSame(apply({ kind: 'cmd', db: 0, argv: ['GET'], timeMs: T0 }), Errors.wrongArity('get'));
  t.strictSame(apply({ kind: 'cmd', db: 0, argv: ['SCRIPT', 'NOPE'], timeMs: T0 }), err("ERR unknown command 'SCRIPT', with args beginning with: 'NOPE' "));
  t.strictSame(apply({ kind: 'bogus', db: 0, timeMs: T0 }), err('ERR malformed log entry'));
  t.strictSame(apply({ kind: 'expire', db: 0, keys: 'x', timeMs: T0 }), err('ERR malformed log entry'));
  t.strictSame(apply({ kind: 'cmd', db: 0, argv: ['SET', 'k', 'v'], timeMs: 'late' }), OK);
  t.throws(() => h.sm.apply({ kind: 'cmd', db: 0, argv: ['GET', 'k'], timeMs: T0 }, h.index), 'applying an index twice is a programmer error');
  t.end();
});

/** mulberry32: a small seeded PRNG, so a failing stream can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCommand(rand: () => number, nowMs: number, sweepFrom: StateMachine, keyCount = 20, extra: string[][] = []): LogCommand {
  const pick = <T>(items: T[]): T => items[Math.floor(rand() * items.length)];
  const key = `k${Math.floor(rand() * keyCount)}`;
  const owner = pick(['a', 'b', 'c']);
  const ttl = String(1 + Math.floor(rand() * 300));
  const db = rand() < 0.9 ? 0 : 1;
  const r = rand();
  if (r < 0.03) return { kind: 'leader', leaderId: 'n', extendMs: Math.floor(rand() * 200), timeMs: nowMs };
  if (r < 0.08) {
    const groups = sweepFrom.expiredKeys(nowMs, 5);
    if (groups.length > 0) return { kind: 'expire', db: groups[0].db, keys: groups[0].keys, timeMs: nowMs };
  }
  const argv = pick<string[]>([
    ['SET', key, owner, 'NX', 'PX', ttl],
    ['SET', key, owner, 'PX', ttl, 'XX', 'GET'],
    ['SET', key, owner],
    ['LOCK', key, owner, ttl],
    ['UNLOCK', key, owner],
    ['HEARTBEAT', key, owner, ttl],
    ['DELIFEQ', key, owner],
    ['DEL', key, `k${Math.floor(rand() * keyCount)}`],
    ['INCR', key],
    ['PEXPIRE', key, ttl, pick(['NX', 'XX', 'GT', 'LT'])],
    ['PERSIST', key],
    ['ZADD', key, pick(['NX', 'XX', 'GT', 'CH']), String(Math.floor(rand() * 10)), owner],
    ['ZREM', key, owner],
    ['ZREMRANGEBYSCORE', key, '-inf', String(Math.floor(rand() * 10))],
    ['SADD', key, owner],
    ['SREM', key, owner],
    ['APPEND', key, owner],
    ['GETEX', key, 'PX', ttl],
    ['EVAL', 'GET $K1\nSET $K1 $A1 PX 50', '1', key, owner],
    ['LOCKINFO', key],
    ...extra,
  ]);
  return { kind: 'cmd', db, argv, timeMs: nowMs };
}

t.test('two replicas fed the same seeded random stream agree; snapshots restore mid-stream', (t) => {
  const seeds = [1, 2, 3, 42, 1234];
  for (const seed of seeds) {
    const rand = prng(seed);
    const make = () => new StateMachine({ scriptEngine: stubEngine(), events: { publish: () => 0, log: () => {} } });
    const a = make();
    const b = make();
    let c: StateMachine | null = null;
    let nowMs = T0;
    let mismatches = 0;
    for (let index = 1; index <= 3000; index++) {
      nowMs += Math.floor(rand() * 20) - 3; // entry times jitter, sometimes backwards
      const command = randomCommand(rand, nowMs, a);
      const copy = structuredClone(command);
      const ra = a.apply(command, index);
      const rb = b.apply(copy, index);
      if (JSON.stringify(ra, replacer) !== JSON.stringify(rb, replacer)) mismatches++;
      if (c !== null) c.apply(structuredClone(command), index);
      if (index === 1500) {
        c = make();
        c.restore(a.snapshot());
        t.equal(c.digest(), a.digest(), `seed ${seed}: restored digest equals at index ${index}`);
      }
    }
    t.equal(mismatches, 0, `seed ${seed}: same replies (reproduce with this seed)`);
    t.equal(a.digest(), b.digest(), `seed ${seed}: same digest`);
    t.equal(c!.digest(), a.digest(), `seed ${seed}: the restored replica kept up`);
    t.strictSame(a.stats(), c!.stats());
  }
  t.end();
});

t.test('a snapshot encoded a slice at a time while entries go on being applied holds the state at its index', (t) => {
  for (const seed of [7, 8, 9, 10, 11]) {
    const rand = prng(seed);
    const make = () => new StateMachine({ scriptEngine: stubEngine(), events: { publish: () => 0, log: () => {} } });
    const a = make();
    const log: LogCommand[] = [];
    let nowMs = T0;
    const apply = (command: LogCommand): void => {
      log.push(structuredClone(command));
      a.apply(command, log.length);
    };
    const applyNext = (flushes: boolean): void => {
      nowMs += Math.floor(rand() * 20) - 3;
      // 3,000 keys over two databases; while the snapshot is encoded, now and then a whole database or every one is flushed.
      apply(randomCommand(rand, nowMs, a, 3000, flushes && rand() < 0.05 ? [['FLUSHDB'], ['FLUSHALL']] : []));
    };
    for (let i = 0; i < 3000; i++) apply({ kind: 'cmd', db: i % 2, argv: ['SET', `k${i}`, 'v'], timeMs: nowMs });
    while (log.length < 6000) applyNext(false);
    const job = a.beginSnapshot();
    const atBegin = a.digest();
    t.equal(job.index, 6000, `seed ${seed}: the snapshot is of the applied index`);
    let slices = 0;
    while (!job.step(1 + Math.floor(rand() * 20))) {
      slices++;
      for (let k = Math.floor(rand() * 4); k > 0; k--) applyNext(true);
    }
    const data = job.finish();
    t.ok(slices > 50 && log.length > 6100, `seed ${seed}: ${log.length - 6000} entries applied between ${slices} slices`);
    const c = make();
    c.restore(data);
    t.equal(c.digest(), atBegin, `seed ${seed}: the snapshot holds the state as of its index, not later writes`);
    for (let i = 6000; i < log.length; i++) c.apply(structuredClone(log[i]), i + 1);
    t.equal(c.digest(), a.digest(), `seed ${seed}: restored and fed the later entries, it matches`);
    t.notOk(job.abandoned(), 'finished, not abandoned');
  }
  t.end();
});

t.test('a database empty or emptied while a snapshot encodes: the snapshot keeps what was there when it began', (t) => {
  const h = new Harness();
  for (let i = 0; i < 500; i++) h.run('SET', `a${i}`, 'v', 'PX', 60_000);
  h.db = 2;
  for (let i = 0; i < 300; i++) h.run('SET', `c${i}`, 'w');
  h.db = 7;
  for (let i = 0; i < 50; i++) h.run('SET', `untouched${i}`, 'z');
  const atBegin = h.sm.digest();
  const job = h.sm.beginSnapshot();
  job.step(100);
  // Database 0 emptied key by key and database 2 by FLUSHDB, both before the encoder reaches
  // their remaining slots; database 5, empty when the snapshot began, written to meanwhile.
  h.db = 0;
  for (let i = 0; i < 500; i++) h.run('DEL', `a${i}`);
  h.db = 5;
  for (let i = 0; i < 200; i++) h.run('SET', `late${i}`, 'x');
  h.db = 2;
  h.run('FLUSHDB');
  while (!job.step(50)) h.run('SET', `later${h.index}`, 'y');
  const restored = new Harness();
  restored.sm.restore(job.finish());
  t.equal(restored.sm.digest(), atBegin, 'the snapshot is the keyspace as it was when it began');
  restored.db = 0;
  t.equal(restored.read('GET', 'a499'), 'v', 'a key deleted after the snapshot began is in it');
  restored.db = 2;
  t.equal(restored.read('GET', 'c0'), 'w', 'a key flushed after the snapshot began is in it');
  restored.db = 5;
  t.equal(restored.read('GET', 'late0'), null, 'a key added after the snapshot began is not');
  restored.db = 7;
  t.equal(restored.read('DBSIZE'), 50, 'a database nobody wrote to meanwhile is whole');
  t.end();
});

t.test('restore() abandons a snapshot being encoded; the next one starts clean', (t) => {
  const h = new Harness();
  for (let i = 0; i < 2000; i++) h.run('SET', `k${i}`, 'v');
  const job = h.sm.beginSnapshot();
  job.step(10);
  const other = new Harness();
  other.run('SET', 'only', 'this');
  h.sm.restore(other.sm.snapshot());
  t.ok(job.abandoned(), 'the snapshot of the replaced state is void');
  t.throws(() => job.step(10), /abandoned/);
  const again = h.sm.beginSnapshot();
  const restored = new Harness();
  restored.sm.restore(again.finish());
  t.equal(restored.sm.digest(), other.sm.digest());
  t.end();
});

t.test('a snapshot of many strings spans several string chunks, with a value larger than one, and restores exactly', (t) => {
  const h = new Harness();
  for (let i = 0; i < 30_000; i++) h.run('SET', `lock:${i}`, `owner-${i}-${'x'.repeat(i % 50)}`, 'PX', 60_000 + i);
  h.run('SET', 'big', '\xff'.repeat(1_500_000)); // 3 MB of UTF-8: larger than a chunk and than its buffer
  h.run('ZADD', 'z', 1, 'a');
  // More than one msgpack chunk of other types, written while a string chunk is open.
  for (let i = 0; i < 9_000; i++) h.run('SADD', `set:${i}`, 'm');
  h.run('SET', 'after', '\x00');
  const data = h.sm.snapshot();
  t.strictSame(Buffer.from(h.sm.snapshot()), Buffer.from(data), 'the next snapshot (its buffer sized from this one) has the same bytes');
  const other = new Harness();
  other.sm.restore(data);
  t.equal(other.sm.digest(), h.sm.digest(), 'same keyspace');
  t.strictSame(other.sm.stats(), h.sm.stats());
  other.index = h.index;
  other.nowMs = h.nowMs;
  t.equal(other.read('GET', 'lock:29999'), h.read('GET', 'lock:29999'));
  t.equal((other.read('GET', 'big') as string).length, 1_500_000);
  const at = h.nowMs + 60_010;
  const expired = h.sm.expiredKeys(at, 10);
  t.ok(expired.length === 1 && expired[0].keys.length >= 1, 'some locks expire by then');
  t.strictSame(other.sm.expiredKeys(at, 10), expired, 'the expiry heap is in deadline order after the bulk load');
  t.end();
});

t.test('a freed snapshot buffer gives its memory back without waiting for a full GC', (t) => {
  const h = new Harness();
  for (let i = 0; i < 200_000; i++) h.run('SET', `lock:${i}`, `owner-${i}-${'x'.repeat(200)}`, 'PX', 60_000);
  const data = h.sm.snapshot();
  t.ok(data.length > 40_000_000, `a ${data.length}-byte snapshot`);
  const external = (): number => process.memoryUsage().arrayBuffers;
  // Minor GCs only: young objects come and go, and the buffer's ArrayBuffer reaches the old generation.
  const churn = (): void => {
    let junk: object[] = [];
    for (let j = 0; j < 50_000; j++) junk.push({ j });
    junk = [];
  };
  for (let i = 0; i < 20; i++) churn();
  const before = external();
  freeSnapshotBuffer(data);
  t.equal(data.length, 0, 'the buffer is detached: every view of it is empty');
  let rounds = 0;
  while (external() > before - 40_000_000 && rounds < 200) {
    churn();
    rounds++;
  }
  t.ok(external() <= before - 40_000_000, `external memory ${before} -> ${external()} bytes after ${rounds} rounds of young garbage`);
  t.end();
});

t.test('an Entry keeps its deadline exactly, and a deadline in ms since 1970 costs no heap box', (t) => {
  const now = 1_795_000_000_000; // November 2026, in ms: past 31 bits
  const day = 86_400_000;
  for (const deadline of [now, now + 30_000, now - 5, now + 40 * day, -now, -1, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, -(2 ** 53) + 1, 0]) {
    const entry = new Entry('v', 1, deadline);
    t.equal(entry.deadlineMs, deadline, `${deadline} reads back`);
    entry.deadlineMs = 0;
    t.equal(entry.deadlineMs, 0, 'cleared');
    entry.deadlineMs = deadline;
    t.equal(entry.deadlineMs, deadline, 'set again');
  }
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const count = 200_000;
  const heapPerEntry = (deadline: (i: number) => number): number => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const entries = new Array<Entry>(count);
    for (let i = 0; i < count; i++) entries[i] = new Entry('v', i, deadline(i));
    gc();
    const bytes = (process.memoryUsage().heapUsed - before) / count;
    t.equal(entries[count - 1].deadlineMs, deadline(count - 1));
    return bytes;
  };
  const near = heapPerEntry((i) => now + 30_000 + i);
  const none = heapPerEntry(() => 0);
  t.ok(near < none + 4, `an Entry with a deadline takes ${near.toFixed(1)} bytes, one without ${none.toFixed(1)} (a boxed deadline would add 16)`);
  t.end();
});

t.test('the expiry heap stays bounded under lock churn and keeps an item for every live deadline', (t) => {
  // Few live deadlines (compacted from the heap's items) then many (from the keyspace), with keys
  // re-created at the deadline they had (two valid items for one key) and deadlines moved back.
  const rand = prng(20261123);
  const db = new Database();
  const live = new Map<string, number>();
  let worst = 0;
  // Checked after a push (removals leave stale items for the next compaction).
  const checkBound = (): void => {
    if (db.heap.size > 2 * db.volatileCount + 1024) t.fail(`heap of ${db.heap.size} items for ${db.volatileCount} live deadlines`);
    worst = Math.max(worst, db.heap.size - 2 * db.volatileCount);
  };
  for (const [keys, ops] of [
    [64, 40_000],
    [30_000, 120_000],
    [64, 40_000],
  ] as const) {
    for (let i = 0; i < ops; i++) {
      const key = `lock:${Math.floor(rand() * keys)}`;
      const deadline = T0 + Math.floor(rand() * 50);
      const entry = db.get(key);
      if (entry === undefined) {
        db.add(key, new Entry('owner', i, deadline));
        live.set(key, deadline);
        checkBound();
      } else if (rand() < 0.6) {
        db.remove(key);
        live.delete(key);
      } else {
        db.setDeadline(key, entry, deadline);
        live.set(key, deadline);
        checkBound();
      }
    }
    // Drop the keys beyond this phase's range, so the next phase has few live deadlines again.
    for (const key of [...live.keys()]) {
      if (Number(key.slice(5)) >= keys) {
        db.remove(key);
        live.delete(key);
      }
    }
  }
  t.ok(worst <= 1024, `after a push, the heap holds at most 2 items per live deadline + ${worst}`);
  t.equal(db.volatileCount, live.size);
  const found = new Map<string, number>();
  while (db.heap.size > 0) {
    const key = db.heap.peekKey();
    const deadline = db.heap.peekDeadline();
    db.heap.pop();
    if (db.get(key)?.deadlineMs === deadline) found.set(key, deadline);
  }
  t.strictSame([...found].sort(), [...live].sort(), 'every live deadline has its item in the heap');
  t.end();
});

function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

t.test('snapshot/restore round-trips every type, db, deadline, token, script and the clock', (t) => {
  const h = new Harness();
  h.run('SET', 'bin\x00\xff', '\x80\r\n');
  h.run('LOCK', 'lock', 'owner', 900719925474099);
  h.run('ZADD', 'z', '-inf', 'a', 1.5, 'b', '+inf', 'c');
  h.run('SADD', 's', 'x', 'y');
  h.db = 5;
  h.run('SET', 'five', 'v', 'PX', 100);
  h.run('SCRIPT', 'LOAD', 'GET $K1');
  h.run('EVAL', 'ECHO 1', 0);
  h.db = 0;
  h.leader(2500);
  h.advance(10);
  const data = h.sm.snapshot();
  const other = new Harness();
  other.sm.restore(data);
  t.equal(other.sm.digest(), h.sm.digest());
  t.strictSame(other.sm.stats(), h.sm.stats());
  other.index = h.index;
  other.nowMs = h.nowMs;
  t.strictSame(other.read('LOCKINFO', 'lock'), h.read('LOCKINFO', 'lock'));
  t.strictSame(other.read('ZRANGE', 'z', 0, -1, 'WITHSCORES'), h.read('ZRANGE', 'z', 0, -1, 'WITHSCORES'));
  t.equal(other.read('GET', 'bin\x00\xff'), '\x80\r\n');
  other.db = 5;
  t.equal(other.read('PTTL', 'five'), 100, 'the clock pause survived the snapshot');
  other.advance(2590); // the 2500 ms pause, then the 100 ms TTL
  t.strictSame(other.sm.expiredKeys(other.nowMs, 10), [{ db: 5, keys: ['five'] }], 'the expiry index is rebuilt');
  t.throws(() => other.sm.restore(new Uint8Array([1, 2, 3])));
  t.throws(() => new StateMachine({ databases: 4, scriptEngine: null, events: { publish: () => 0, log: () => {} } }).restore(data));
  t.end();
});
