// Proves redlock@4.2.0 works unchanged against the target, on both clients it supports: ioredis 6
// (RESP3) and node-redis v3 (callback API, RESP2). It runs redlock's own Lua (EVALSHA, falling
// back to EVAL on NOSCRIPT) and checks what a user sees: acquire refuses a second owner, extend
// moves the expiry, release frees the lock, an unextended lock expires, and 20 contenders doing
// a read-modify-write under the lock never lose an update.

import t from 'tap';
import Redlock from 'redlock';
import redis3 from 'redis3';
import { startTarget, ioredisClient, type Target } from './target';
import { runContention, expectExpiry, SHORT_TTL_MS, CONTENDERS, RETRIES, RETRY_MS, type Contender } from './harness';

interface Client {
  pttl(key: string): Promise<number>;
  close(): void;
}

type Factory = (t: tap.Test, target: Target) => Promise<{ lockClient: unknown; probe: Client }>;

const viaIoredis: Factory = async (t, target) => {
  const client = await ioredisClient(t, target);
  return { lockClient: client, probe: { pttl: (key) => client.pttl(key), close: () => client.disconnect() } };
};

const viaNodeRedis3: Factory = async (t, target) => {
  const client = redis3.createClient({ host: target.host, port: target.port });
  client.on('error', () => undefined);
  t.teardown(() => client.end(false));
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', reject);
  });
  const pttl = (key: string) => new Promise<number>((resolve, reject) => client.pttl(key, (err: Error | null, v: number) => (err ? reject(err) : resolve(v))));
  return { lockClient: client, probe: { pttl, close: () => client.end(false) } };
};

async function suite(t: tap.Test, clientName: string, factory: Factory): Promise<void> {
  const target = await startTarget(t);
  const settings = { retryCount: 0, retryDelay: 5, retryJitter: 5 };

  await t.test(`${clientName}: acquire, extend, release`, async (t) => {
    const a = await factory(t, target);
    const b = await factory(t, target);
    const first = new Redlock([a.lockClient], { ...settings, retryCount: 1 });
    const second = new Redlock([b.lockClient], { ...settings, retryCount: 1 });
    const lock = await first.acquire('rl4:res', 1000);
    t.match(lock.value, /^[0-9a-f]{32}$/, 'redlock picked a random value');
    await t.rejects(second.acquire('rl4:res', 1000), { name: 'LockError' }, 'a second owner is refused while the lock is held');
    const extended = await lock.extend(60_000);
    const pttl = await a.probe.pttl('rl4:res');
    t.ok(pttl > 30_000 && pttl <= 60_000, `extend moved the expiry to ~60 s (PTTL ${pttl})`);
    await extended.unlock();
    t.equal(await a.probe.pttl('rl4:res'), -2, 'release deleted the key');
    const again = await second.acquire('rl4:res', 1000);
    t.ok(again, 'another owner acquires after release');
    await again.unlock();
  });

  await t.test(`${clientName}: an unextended lock expires`, async (t) => {
    const a = await factory(t, target);
    const b = await factory(t, target);
    const first = new Redlock([a.lockClient], { ...settings, retryCount: 1 });
    const second = new Redlock([b.lockClient], { ...settings, retryCount: 1 });
    await first.acquire('rl4:short', SHORT_TTL_MS);
    const tryOther = async () => {
      try {
        await second.acquire('rl4:short', 10_000);
        return true;
      } catch {
        return false;
      }
    };
    const { heldAtFirst } = await expectExpiry(tryOther, SHORT_TTL_MS);
    t.ok(heldAtFirst, 'held before the TTL ran out');
    t.pass('acquired by another owner after the TTL, without any release');
  });

  await t.test(`${clientName}: redlock.quit() closes its clients cleanly`, async (t) => {
    const a = await factory(t, target);
    const redlock = new Redlock([a.lockClient], settings);
    await (await redlock.acquire('rl4:quit', 1000)).unlock();
    // QUIT must be answered with +OK before the server closes the connection.
    await t.resolves(redlock.quit(), 'QUIT answered +OK');
  });

  await t.test(`${clientName}: ${CONTENDERS} contenders never lose an update`, async (t) => {
    const contenders: Contender[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const { lockClient } = await factory(t, target);
      const redlock = new Redlock([lockClient], { retryCount: RETRIES, retryDelay: RETRY_MS, retryJitter: RETRY_MS });
      contenders.push({
        withLock: async (critical) => {
          const lock = await redlock.acquire('rl4:counter-lock', 10_000);
          try {
            await critical();
          } finally {
            await lock.unlock();
          }
        },
      });
    }
    const result = await runContention(t, target, 'rl4:counter', contenders);
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
  });
}

t.test('redlock 4.2.0 on ioredis 6', (t) => suite(t, 'ioredis 6', viaIoredis));
t.test('redlock 4.2.0 on node-redis v3', (t) => suite(t, 'node-redis 3', viaNodeRedis3));
