// Proves node-redis-warlock 1.0.2 works unchanged against the target over node-redis v3 (callback
// API, RESP2): SET PX NX to lock, and node-redis-script's EVALSHA -> NOSCRIPT -> SCRIPT LOAD (whose
// SHA it checks against its own) -> EVALSHA for unlock and touch; touch passes ttl and id as KEYS.
// Checks: a second owner is refused, touch extends, unlock frees, an untouched lock expires, and
// 20 contenders using warlock.optimistic never lose an update.

import t from 'tap';
import { promisify } from 'node:util';
import redis3 from 'redis3';
import Warlock from 'node-redis-warlock';
import { startTarget, type Target } from './target';
import { runContention, expectExpiry, SHORT_TTL_MS, CONTENDERS, RETRIES, RETRY_MS, type Contender } from './harness';

type Unlock = (cb?: (err: Error | null, result?: unknown) => void) => void;

async function warlockOn(t: tap.Test, target: Target) {
  const client = redis3.createClient({ host: target.host, port: target.port });
  client.on('error', () => undefined);
  t.teardown(() => client.end(false));
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', reject);
  });
  const warlock = Warlock(client);
  const lock = (key: string, ttlMs: number) =>
    new Promise<{ unlock: Unlock | false; id: string }>((resolve, reject) =>
      warlock.lock(key, ttlMs, (err: Error | null, unlock: Unlock | false, id: string) => (err ? reject(err) : resolve({ unlock, id }))),
    );
  const pttl = promisify(client.pttl).bind(client) as (key: string) => Promise<number>;
  return { client, warlock, lock, pttl };
}

const unlockAsync = (unlock: Unlock) => new Promise<unknown>((resolve, reject) => unlock((err, result) => (err ? reject(err) : resolve(result))));

t.test('node-redis-warlock 1.0.2 on node-redis v3', async (t) => {
  const target = await startTarget(t);

  await t.test('lock, touch, unlock', async (t) => {
    const a = await warlockOn(t, target);
    const b = await warlockOn(t, target);
    const mine = await a.lock('res', 1000);
    t.type(mine.unlock, 'function', 'acquired');
    t.equal((await b.lock('res', 1000)).unlock, false, 'a second owner is refused');
    t.equal(await a.warlock.touch('res', 'not-the-owner', 60_000), 0, 'touch by a non-owner does nothing');
    t.equal(await a.warlock.touch('res', mine.id, 60_000), 'OK', 'touch by the owner extends');
    const pttl = await a.pttl('res:lock');
    t.ok(pttl > 30_000 && pttl <= 60_000, `expiry moved to ~60 s (PTTL ${pttl})`);
    t.equal(await unlockAsync(mine.unlock as Unlock), 1, 'unlock deleted the key');
    t.equal(await a.pttl('res:lock'), -2);
    const theirs = await b.lock('res', 1000);
    t.type(theirs.unlock, 'function', 'another owner acquires after unlock');
    await unlockAsync(theirs.unlock as Unlock);
  });

  await t.test('an untouched lock expires', async (t) => {
    const a = await warlockOn(t, target);
    const b = await warlockOn(t, target);
    t.type((await a.lock('short', SHORT_TTL_MS)).unlock, 'function');
    const { heldAtFirst } = await expectExpiry(async () => typeof (await b.lock('short', 10_000)).unlock === 'function', SHORT_TTL_MS);
    t.ok(heldAtFirst, 'held before the TTL ran out');
  });

  await t.test(`${CONTENDERS} contenders never lose an update`, async (t) => {
    const contenders: Contender[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const { warlock } = await warlockOn(t, target);
      const optimistic = (key: string) =>
        new Promise<Unlock>((resolve, reject) => warlock.optimistic(key, 10_000, RETRIES, RETRY_MS, (err: Error | null, unlock: Unlock) => (err ? reject(err) : resolve(unlock))));
      contenders.push({
        withLock: async (critical) => {
          const unlock = await optimistic('counter');
          try {
            await critical();
          } finally {
            await unlockAsync(unlock);
          }
        },
      });
    }
    const result = await runContention(t, target, 'warlock:counter', contenders);
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
  });
});
