// Proves @microfleet/ioredis-lock 6.0.1 works unchanged against the target, on ioredis 6 (RESP3)
// and on ioredis 5 (RESP2, the newest version its peer range names): SET PX NX to acquire, and
// ioredis defineCommand scripts (EVAL on first use per connection, then EVALSHA) to extend and
// release. Checks: a second owner is refused, extend moves the expiry, release frees the lock, an
// unextended lock expires, and 20 contenders never lose an update.

import t from 'tap';
import Redis6 from 'ioredis';
import Redis5 from 'ioredis5';
import { createLock } from '@microfleet/ioredis-lock';
import { startTarget, type Target } from './target';
import { runContention, expectExpiry, SHORT_TTL_MS, CONTENDERS, RETRIES, RETRY_MS, type Contender } from './harness';

type Connect = (t: tap.Test, target: Target) => Promise<Redis6>;

interface Options {
  host: string;
  port: number;
  lazyConnect: boolean;
  maxRetriesPerRequest: number;
}

const connectWith = (make: (options: Options) => Redis6): Connect => async (t, target) => {
  const client = make({ host: target.host, port: target.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  t.teardown(() => client.disconnect());
  await client.connect();
  return client;
};

async function suite(t: tap.Test, connect: Connect): Promise<void> {
  const target = await startTarget(t);
  const tryAcquire = (client: Redis6, key: string, timeout: number) =>
    createLock(client, { timeout, retries: 0 })
      .acquire(key)
      .then(() => true, () => false);

  await t.test('acquire, extend, release', async (t) => {
    const a = await connect(t, target);
    const b = await connect(t, target);
    const mine = createLock(a, { timeout: 1000, retries: 0 });
    await mine.acquire('res');
    t.ok(await a.get('res'), 'the key holds the lock id');
    t.equal(await tryAcquire(b, 'res', 1000), false, 'a second owner is refused');
    await mine.extend(60_000);
    const pttl = await a.pttl('res');
    t.ok(pttl > 30_000 && pttl <= 60_000, `extend moved the expiry to ~60 s (PTTL ${pttl})`);
    await mine.extend(50_000);
    t.ok((await a.pttl('res')) <= 50_000, 'a second extend runs over EVALSHA');
    await mine.release();
    t.equal(await a.exists('res'), 0, 'release deleted the key');
    t.equal(await tryAcquire(b, 'res', 1000), true, 'another owner acquires after release');
  });

  await t.test('an unextended lock expires; the late release is refused', async (t) => {
    const a = await connect(t, target);
    const b = await connect(t, target);
    const mine = createLock(a, { timeout: 300, retries: 0 });
    await mine.acquire('short');
    const { heldAtFirst } = await expectExpiry(() => tryAcquire(b, 'short', 10_000), SHORT_TTL_MS);
    t.ok(heldAtFirst, 'held before the TTL ran out');
    await t.rejects(mine.release(), { name: 'LockReleaseError' }, 'the old owner cannot release the new owner’s lock');
    t.ok(await a.exists('short'), 'the new owner still holds it');
  });

  await t.test(`${CONTENDERS} contenders never lose an update`, async (t) => {
    const contenders: Contender[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const client = await connect(t, target);
      contenders.push({
        withLock: async (critical) => {
          const lock = createLock(client, { timeout: 10_000, retries: RETRIES, delay: RETRY_MS, jitter: 1 });
          await lock.acquire('counter-lock');
          try {
            await critical();
          } finally {
            await lock.release();
          }
        },
      });
    }
    const result = await runContention(t, target, 'ioredis-lock:counter', contenders);
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
  });
}

t.test('@microfleet/ioredis-lock on ioredis 6', (t) => suite(t, connectWith((o) => new Redis6(o))));
t.test('@microfleet/ioredis-lock on ioredis 5', (t) => suite(t, connectWith((o) => new Redis5(o) as unknown as Redis6)));
