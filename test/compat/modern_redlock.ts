// The checks shared by the two redlock generations with the same promise API (redlock
// 5.0.0-beta.2 and its maintained fork @sesamecare-oss/redlock): acquire refuses a second owner,
// extend moves the expiry, release deletes the key, an unextended lock expires, and 20
// contenders never lose an update. Both need EVALSHA/EVAL replies to be integers, not strings.

import type Redis from 'ioredis';
import { ioredisClient, type Target } from './target';
import { runContention, expectExpiry, SHORT_TTL_MS, CONTENDERS, RETRIES, RETRY_MS, type Contender } from './harness';

interface ModernLock {
  readonly value: string;
  extend(durationMs: number): Promise<ModernLock>;
  release(): Promise<unknown>;
}

interface ModernRedlock {
  acquire(resources: string[], durationMs: number): Promise<ModernLock>;
}

export type MakeRedlock = (client: Redis, settings: { retryCount: number; retryDelay: number; retryJitter: number }) => ModernRedlock;

export async function modernRedlockSuite(t: tap.Test, target: Target, prefix: string, make: MakeRedlock, db = 0): Promise<void> {
  const once = { retryCount: 0, retryDelay: 5, retryJitter: 5 };
  const key = (name: string) => `${prefix}:${name}`;

  await t.test('acquire, extend, release', async (t) => {
    const a = await ioredisClient(t, target, { db });
    const b = await ioredisClient(t, target, { db });
    const first = make(a, once);
    const second = make(b, once);
    const lock = await first.acquire([key('res')], 1000);
    t.match(lock.value, /^[0-9a-f]{32}$/, 'a random lock value');
    t.equal(await a.get(key('res')), lock.value, 'the key holds the lock value');
    await t.rejects(second.acquire([key('res')], 1000), 'a second owner is refused while the lock is held');
    const extended = await lock.extend(60_000);
    const pttl = await a.pttl(key('res'));
    t.ok(pttl > 30_000 && pttl <= 60_000, `extend moved the expiry to ~60 s (PTTL ${pttl})`);
    await extended.release();
    t.equal(await a.exists(key('res')), 0, 'release deleted the key');
    const again = await second.acquire([key('res')], 1000);
    t.ok(again, 'another owner acquires after release');
    await again.release();
  });

  await t.test('a multi-resource lock is all or nothing', async (t) => {
    const a = await ioredisClient(t, target, { db });
    const b = await ioredisClient(t, target, { db });
    const held = await make(a, once).acquire([key('m2')], 10_000);
    await t.rejects(make(b, once).acquire([key('m1'), key('m2'), key('m3')], 10_000), 'refused when one resource is held');
    t.equal(await a.exists(key('m1'), key('m3')), 0, 'nothing was left locked by the refused attempt');
    await held.release();
    const all = await make(b, once).acquire([key('m1'), key('m2'), key('m3')], 10_000);
    t.equal(await a.exists(key('m1'), key('m2'), key('m3')), 3, 'all three taken together');
    await all.release();
  });

  await t.test('an unextended lock expires', async (t) => {
    const a = await ioredisClient(t, target, { db });
    const b = await ioredisClient(t, target, { db });
    await make(a, once).acquire([key('short')], SHORT_TTL_MS);
    const second = make(b, once);
    const tryOther = () => second.acquire([key('short')], 10_000).then(() => true, () => false);
    const { heldAtFirst } = await expectExpiry(tryOther, SHORT_TTL_MS);
    t.ok(heldAtFirst, 'held before the TTL ran out');
    t.pass('acquired by another owner after the TTL, without any release');
  });

  await t.test(`${CONTENDERS} contenders never lose an update`, async (t) => {
    const contenders: Contender[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const redlock = make(await ioredisClient(t, target, { db }), { retryCount: RETRIES, retryDelay: RETRY_MS, retryJitter: RETRY_MS });
      contenders.push({
        withLock: async (critical) => {
          const lock = await redlock.acquire([key('counter-lock')], 10_000);
          try {
            await critical();
          } finally {
            await lock.release();
          }
        },
      });
    }
    const result = await runContention(t, target, key('counter'), contenders, undefined, { db });
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
  });
}
