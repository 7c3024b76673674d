// Proves redis-lock 1.0 works unchanged against the target over node-redis v4 (the only client it
// accepts): `SET lock.<name> <expiry> PX ms NX`, retried every few ms while held, and a plain DEL
// to release. It has no extend. Checks: a second owner waits until the first releases, an
// unreleased lock expires and is then taken, and 20 contenders never lose an update.

import t from 'tap';
import { createClient } from 'redis4';
import redisLock from 'redis-lock';
import { startTarget, type Target } from './target';
import { runContention, within, SHORT_TTL_MS, CONTENDERS, type Contender } from './harness';

type Release = () => Promise<unknown>;

async function locker(t: tap.Test, target: Target) {
  const client = createClient({ url: `redis://${target.host}:${target.port}` });
  client.on('error', () => undefined);
  await client.connect();
  // redis-lock retries a failed SET forever, even after the client is closed. This pass-through
  // (the three members redis-lock uses) parks it on a never-settling SET once the test is over, so
  // a failing test ends instead of keeping the process alive.
  let closed = false;
  const passThrough = {
    v4: true,
    set: (...args: Parameters<typeof client.set>) => (closed ? new Promise<never>(() => undefined) : client.set(...args)),
    del: (key: string) => client.del(key),
  };
  t.teardown(() => {
    closed = true;
    return client.disconnect().catch(() => undefined);
  });
  return { client, lock: redisLock(passThrough, 5) as (name: string, timeoutMs?: number) => Promise<Release> };
}

t.test('redis-lock 1.0 on node-redis v4', async (t) => {
  const target = await startTarget(t);

  await t.test('a second owner waits for the release', async (t) => {
    const a = await locker(t, target);
    const b = await locker(t, target);
    const release = await within('first lock', a.lock('res', 10_000));
    const stamp = await a.client.get('lock.res');
    t.ok(Number(stamp) > Date.now(), 'the key holds the expiry timestamp');
    const pttl = await a.client.pTTL('lock.res');
    t.ok(pttl > 5_000 && pttl <= 10_000, `with a PX expiry (PTTL ${pttl})`);
    const order: string[] = [];
    const waiting = b.lock('res', 10_000).then((r) => (order.push('b acquired'), r));
    // b retries every 5 ms; after 40 of its attempts the key must still be a's.
    const deadline = Date.now() + 200;
    while (Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    t.equal(await a.client.get('lock.res'), stamp, 'still held by the first owner');
    order.push('a released');
    await release();
    const release2 = await within('the waiter to get the lock', waiting);
    t.same(order, ['a released', 'b acquired'], 'the waiter got the lock only after the release');
    await release2();
    t.equal(await a.client.exists('lock.res'), 0, 'release deleted the key');
  });

  await t.test('an unreleased lock expires and is taken', async (t) => {
    const a = await locker(t, target);
    const b = await locker(t, target);
    await within('first lock', a.lock('short', SHORT_TTL_MS));
    const before = await a.client.get('lock.short');
    const release = await within('the lock to expire and be taken', b.lock('short', 10_000));
    const after = await a.client.get('lock.short');
    t.not(after, before, 'the second owner now holds it');
    t.ok((await a.client.pTTL('lock.short')) > 5_000, 'with its own TTL');
    await release();
  });

  await t.test(`${CONTENDERS} contenders never lose an update`, async (t) => {
    const contenders: Contender[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const { lock } = await locker(t, target);
      contenders.push({
        withLock: async (critical) => {
          const release = await within('the counter lock', lock('counter', 10_000));
          try {
            await critical();
          } finally {
            await release();
          }
        },
      });
    }
    const result = await runContention(t, target, 'redis-lock:counter', contenders);
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
  });
});
