// Proves redlock-universal 0.8.5 works unchanged against the target on both of its Redis
// adapters: ioredis 6 and node-redis 6 (both RESP3). It always SCRIPT LOADs first and then runs
// EVALSHA with table replies ({code, ttl}, {1, n}, {value, pttl}). Checks: acquire refuses a
// second owner, extend moves the expiry, release frees the lock, `using` auto-extends a lock past
// its TTL (ATOMIC_EXTEND), batch acquire is all-or-nothing, an unextended lock expires, and 20
// contenders never lose an update.

import t from 'tap';
import { createClient } from 'redis';
import { createLock, IoredisAdapter, NodeRedisAdapter, type RedisAdapter } from 'redlock-universal';
import { startTarget, ioredisClient, waitFor, type Target } from './target';
import { runContention, expectExpiry, SHORT_TTL_MS, CONTENDERS, RETRIES, RETRY_MS, type Contender } from './harness';

type MakeAdapter = (t: tap.Test, target: Target) => Promise<RedisAdapter>;

const viaIoredis: MakeAdapter = async (t, target) => new IoredisAdapter(await ioredisClient(t, target));

const viaNodeRedis: MakeAdapter = async (t, target) => {
  const client = createClient({ url: `redis://${target.host}:${target.port}` });
  client.on('error', () => undefined);
  await client.connect();
  t.teardown(() => client.destroy());
  return new NodeRedisAdapter(client as never);
};

async function suite(t: tap.Test, name: string, makeAdapter: MakeAdapter): Promise<void> {
  const target = await startTarget(t);
  const key = (k: string) => `univ:${name}:${k}`;

  await t.test('acquire, extend, release', async (t) => {
    const a = await makeAdapter(t, target);
    const b = await makeAdapter(t, target);
    const mine = createLock({ adapter: a, key: key('res'), ttl: 1000, retryAttempts: 0 });
    const handle = await mine.acquire();
    t.equal(await a.get(key('res')), handle.value, 'the key holds the lock value');
    await t.rejects(createLock({ adapter: b, key: key('res'), ttl: 1000, retryAttempts: 0 }).acquire(), 'a second owner is refused');
    t.equal(await mine.extend(handle, 60_000), true, 'extend reports success');
    const inspected = await a.inspect(key('res'));
    t.ok(inspected && inspected.ttl > 30_000 && inspected.ttl <= 60_000, `expiry moved to ~60 s (INSPECT says ${inspected?.ttl})`);
    t.equal(inspected?.value, handle.value, 'INSPECT returns the value too');
    t.equal(await mine.release(handle), true, 'release reports success');
    t.equal(await a.inspect(key('res')), null, 'the key is gone');
    t.equal(await mine.release(handle), false, 'a second release is refused');
    const other = createLock({ adapter: b, key: key('res'), ttl: 1000, retryAttempts: 0 });
    await other.release(await other.acquire());
  });

  await t.test('using() auto-extends a lock past its TTL', async (t) => {
    const a = await makeAdapter(t, target);
    const b = await makeAdapter(t, target);
    const mine = createLock({ adapter: a, key: key('auto'), ttl: 600, retryAttempts: 0 });
    const rival = createLock({ adapter: b, key: key('auto'), ttl: 600, retryAttempts: 0 });
    const aborted = await mine.using(async (signal) => {
      const start = Date.now();
      await waitFor('2.5 TTLs to pass', () => Date.now() - start > 1500, 5000);
      await t.rejects(rival.acquire(), 'nobody else can take it meanwhile');
      return signal.aborted;
    });
    t.equal(aborted, false, 'the extension never failed');
    t.equal(await a.get(key('auto')), null, 'using() released at the end');
  });

  await t.test('batch acquire is all or nothing', async (t) => {
    const a = await makeAdapter(t, target);
    await a.setNX(key('b2'), 'someone', 10_000);
    const refused = await a.batchSetNX([key('b1'), key('b2'), key('b3')], ['x', 'y', 'z'], 10_000);
    t.match(refused, { success: false }, 'refused when one key is held');
    t.equal(await a.get(key('b1')), null, 'nothing taken');
    await a.del(key('b2'));
    const taken = await a.batchSetNX([key('b1'), key('b2'), key('b3')], ['x', 'y', 'z'], 10_000);
    t.match(taken, { success: true }, 'all three taken together');
    t.equal(await a.get(key('b3')), 'z');
  });

  await t.test('an unextended lock expires', async (t) => {
    const a = await makeAdapter(t, target);
    const b = await makeAdapter(t, target);
    await createLock({ adapter: a, key: key('short'), ttl: SHORT_TTL_MS, retryAttempts: 0 }).acquire();
    const rival = createLock({ adapter: b, key: key('short'), ttl: 10_000, retryAttempts: 0 });
    const { heldAtFirst } = await expectExpiry(() => rival.acquire().then(() => true, () => false), SHORT_TTL_MS);
    t.ok(heldAtFirst, 'held before the TTL ran out');
  });

  await t.test(`${CONTENDERS} contenders never lose an update`, async (t) => {
    const contenders: Contender[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const lock = createLock({ adapter: await makeAdapter(t, target), key: key('counter-lock'), ttl: 10_000, retryAttempts: RETRIES, retryDelay: RETRY_MS });
      contenders.push({
        withLock: async (critical) => {
          const handle = await lock.acquire();
          try {
            await critical();
          } finally {
            await lock.release(handle);
          }
        },
      });
    }
    const result = await runContention(t, target, key('counter'), contenders);
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
  });
}

t.test('redlock-universal on ioredis 6', (t) => suite(t, 'ioredis', viaIoredis));
t.test('redlock-universal on node-redis 6', (t) => suite(t, 'node-redis', viaNodeRedis));
