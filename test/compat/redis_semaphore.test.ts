// Proves redis-semaphore 5.8 (Mutex, Semaphore, MultiSemaphore) works unchanged against the target
// over ioredis 6. Mutex: SET PX NX, then its refresh/release Lua. Semaphore and MultiSemaphore:
// sorted-set Lua (ZREMRANGEBYSCORE, ZCARD, ZADD, ZSCORE, PEXPIRE, unpack) and a plain ZREM.
// Checks what a user sees: limits hold, refresh extends, release frees, unrefreshed locks expire,
// and 20 contenders using each primitive as a mutex never lose an update. redis-semaphore ships no
// node-redis adapter, so ioredis is the only client here.

import t from 'tap';
import { Mutex, Semaphore, MultiSemaphore } from 'redis-semaphore';
import { startTarget, ioredisClient, waitFor, type Target } from './target';
import { runContention, expectExpiry, SHORT_TTL_MS, CONTENDERS, type Contender } from './harness';

const fixed = { refreshInterval: 0, acquireAttemptsLimit: 1 };

/** Contender `i` builds a fresh lock on its own connection for every round. */
function contenders(make: (i: number) => { acquire(): Promise<void>; release(): Promise<void> }): Contender[] {
  return Array.from({ length: CONTENDERS }, (_, i) => ({
    withLock: async (critical: () => Promise<void>) => {
      const lock = make(i);
      await lock.acquire();
      try {
        await critical();
      } finally {
        await lock.release();
      }
    },
  }));
}

async function clients(t: tap.Test, target: Target, n: number) {
  const all = [];
  for (let i = 0; i < n; i++) all.push(await ioredisClient(t, target));
  return all;
}

t.test('Mutex', async (t) => {
  const target = await startTarget(t);

  await t.test('acquire, extend, release', async (t) => {
    const [a, b] = await clients(t, target, 2);
    const mine = new Mutex(a, 'sem:mutex', { ...fixed, lockTimeout: 1000 });
    t.equal(await mine.tryAcquire(), true, 'acquired');
    t.equal(await a.get('mutex:sem:mutex'), mine.identifier, 'the key holds the identifier');
    t.equal(await new Mutex(b, 'sem:mutex', fixed).tryAcquire(), false, 'a second owner is refused');
    // A Mutex constructed with the holder's identifier and acquiredExternally refreshes instead of acquiring.
    const extender = new Mutex(b, 'sem:mutex', { ...fixed, identifier: mine.identifier, acquiredExternally: true, lockTimeout: 60_000 });
    t.equal(await extender.tryAcquire(), true, 'the refresh script extended the lock');
    const pttl = await a.pttl('mutex:sem:mutex');
    t.ok(pttl > 30_000 && pttl <= 60_000, `expiry moved to ~60 s (PTTL ${pttl})`);
    await mine.release();
    t.equal(await a.exists('mutex:sem:mutex'), 0, 'release deleted the key');
    const other = new Mutex(b, 'sem:mutex', fixed);
    t.equal(await other.tryAcquire(), true, 'another owner acquires after release');
    await other.release();
  });

  await t.test('the automatic refresh keeps a lock past its TTL', async (t) => {
    const [a, b] = await clients(t, target, 2);
    const mine = new Mutex(a, 'sem:refreshed', { lockTimeout: 300, refreshInterval: 80, acquireAttemptsLimit: 1 });
    t.equal(await mine.tryAcquire(), true);
    const start = Date.now();
    await waitFor('three TTLs to pass', () => Date.now() - start > 900, 5000);
    t.equal(mine.isAcquired, true, 'the holder still believes it holds the lock');
    t.equal(await new Mutex(b, 'sem:refreshed', fixed).tryAcquire(), false, 'and nobody else can take it');
    await mine.release();
  });

  await t.test('an unrefreshed lock expires', async (t) => {
    const [a, b] = await clients(t, target, 2);
    t.equal(await new Mutex(a, 'sem:short', { ...fixed, lockTimeout: SHORT_TTL_MS }).tryAcquire(), true);
    const { heldAtFirst } = await expectExpiry(() => new Mutex(b, 'sem:short', fixed).tryAcquire(), SHORT_TTL_MS);
    t.ok(heldAtFirst, 'held before the TTL ran out');
  });

  await t.test(`${CONTENDERS} contenders never lose an update`, async (t) => {
    const all = await clients(t, target, CONTENDERS);
    const result = await runContention(
      t,
      target,
      'sem:mutex-counter',
      contenders((i) => new Mutex(all[i], 'sem:mutex-lock', { lockTimeout: 10_000, acquireTimeout: 20_000, retryInterval: 5 })),
    );
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
  });
});

t.test('Semaphore', async (t) => {
  const target = await startTarget(t);

  await t.test('a limit of 3 admits exactly 3; release and refresh', async (t) => {
    const all = await clients(t, target, 4);
    const holders = all.slice(0, 3).map((c) => new Semaphore(c, 'sem:pool', 3, { ...fixed, lockTimeout: 1000 }));
    for (const h of holders) t.equal(await h.tryAcquire(), true, 'admitted');
    t.equal(await all[0].zcard('semaphore:sem:pool'), 3, 'three members in the sorted set');
    const fourth = new Semaphore(all[3], 'sem:pool', 3, fixed);
    t.equal(await fourth.tryAcquire(), false, 'the fourth is refused');
    const extender = new Semaphore(all[3], 'sem:pool', 3, { ...fixed, identifier: holders[0].identifier, acquiredExternally: true, lockTimeout: 60_000 });
    t.equal(await extender.tryAcquire(), true, 'the refresh script accepts a current holder');
    t.ok((await all[0].pttl('semaphore:sem:pool')) > 30_000, 'and moved the expiry');
    await holders[1].release();
    t.equal(await all[0].zscore('semaphore:sem:pool', holders[1].identifier), null, 'release removed the member (ZREM)');
    t.equal(await fourth.tryAcquire(), true, 'a slot freed by release is taken');
    for (const h of [holders[0], holders[2], fourth]) await h.release();
  });

  await t.test('unrefreshed permits expire', async (t) => {
    const [a, b] = await clients(t, target, 2);
    t.equal(await new Semaphore(a, 'sem:short', 1, { ...fixed, lockTimeout: SHORT_TTL_MS }).tryAcquire(), true);
    const { heldAtFirst } = await expectExpiry(() => new Semaphore(b, 'sem:short', 1, fixed).tryAcquire(), SHORT_TTL_MS);
    t.ok(heldAtFirst, 'held before the TTL ran out');
  });

  await t.test(`${CONTENDERS} contenders on a limit-1 semaphore never lose an update`, async (t) => {
    const all = await clients(t, target, CONTENDERS);
    const result = await runContention(
      t,
      target,
      'sem:semaphore-counter',
      contenders((i) => new Semaphore(all[i], 'sem:semaphore-lock', 1, { lockTimeout: 10_000, acquireTimeout: 20_000, retryInterval: 5 })),
    );
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
  });
});

t.test('MultiSemaphore', async (t) => {
  const target = await startTarget(t);

  await t.test('permits are taken and released together', async (t) => {
    const [a, b] = await clients(t, target, 2);
    const mine = new MultiSemaphore(a, 'sem:multi', 5, 3, { ...fixed, lockTimeout: 1000 });
    t.equal(await mine.tryAcquire(), true, '3 of 5 permits taken');
    t.equal(await a.zcard('semaphore:sem:multi'), 3, 'as three members');
    t.equal(await new MultiSemaphore(b, 'sem:multi', 5, 3, fixed).tryAcquire(), false, '3 more do not fit');
    const two = new MultiSemaphore(b, 'sem:multi', 5, 2, fixed);
    t.equal(await two.tryAcquire(), true, '2 more do fit');
    const extender = new MultiSemaphore(b, 'sem:multi', 5, 3, { ...fixed, identifier: mine.identifier, acquiredExternally: true, lockTimeout: 60_000 });
    t.equal(await extender.tryAcquire(), true, 'the refresh script accepts the holder');
    t.ok((await a.pttl('semaphore:sem:multi')) > 30_000, 'and moved the expiry');
    await mine.release();
    t.equal(await a.zcard('semaphore:sem:multi'), 2, 'release removed all three members');
    await two.release();
    t.equal(await a.zcard('semaphore:sem:multi'), 0);
  });

  await t.test('unrefreshed permits expire', async (t) => {
    const [a, b] = await clients(t, target, 2);
    t.equal(await new MultiSemaphore(a, 'sem:multi-short', 2, 2, { ...fixed, lockTimeout: SHORT_TTL_MS }).tryAcquire(), true);
    const { heldAtFirst } = await expectExpiry(() => new MultiSemaphore(b, 'sem:multi-short', 2, 1, fixed).tryAcquire(), SHORT_TTL_MS);
    t.ok(heldAtFirst, 'held before the TTL ran out');
  });

  await t.test(`${CONTENDERS} contenders taking 3 of 5 permits never lose an update`, async (t) => {
    const all = await clients(t, target, CONTENDERS);
    const result = await runContention(
      t,
      target,
      'sem:multi-counter',
      contenders((i) => new MultiSemaphore(all[i], 'sem:multi-lock', 5, 3, { lockTimeout: 10_000, acquireTimeout: 20_000, retryInterval: 5 })),
    );
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
  });
});
