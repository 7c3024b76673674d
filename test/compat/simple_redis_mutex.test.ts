// Proves simple-redis-mutex 3.0 works unchanged against the target over node-redis 6 (RESP3): SET
// NX PX to acquire, INCR for its fencing token, a SUBSCRIBEd duplicate connection that wakes
// waiters, and a release script loaded with SCRIPT LOAD that PUBLISHes from Lua. Checks: a second
// owner is refused, refreshTimeout extends, release wakes a blocked waiter, an unrefreshed lock
// expires, and 20 contenders never lose an update while their fencing tokens only grow.

import t from 'tap';
import { createClient } from 'redis';
import { lock, tryLock } from 'simple-redis-mutex';
import { startTarget, waitFor, type Target } from './target';
import { runContention, expectExpiry, SHORT_TTL_MS, CONTENDERS, type Contender } from './harness';

async function nodeRedis(t: tap.Test, target: Target) {
  const client = createClient({ url: `redis://${target.host}:${target.port}` });
  client.on('error', () => undefined);
  await client.connect();
  t.teardown(() => client.destroy());
  return client;
}

t.test('simple-redis-mutex 3 on node-redis 6', async (t) => {
  const target = await startTarget(t);
  // The library keeps one process-wide subscriber, duplicated from the first client it sees; this
  // client lives as long as the target so every subtest shares that subscriber.
  const owner = await nodeRedis(t, target);

  await t.test('tryLock, refreshTimeout, release', async (t) => {
    const other = await nodeRedis(t, target);
    const [got, release] = await tryLock(owner, 'res', { timeout: 10_000 });
    t.equal(got, true, 'acquired');
    t.type(release.fencingToken, 'number', 'with a fencing token');
    const [refused] = await tryLock(other, 'res', { timeout: 2000 });
    t.equal(refused, false, 'a second owner is refused');
    await waitFor('a second of the TTL to run', async () => (await owner.pTTL('@simple-redis-mutex:lock-res')) < 9000, 5000, 50);
    await release.refreshTimeout();
    t.ok((await owner.pTTL('@simple-redis-mutex:lock-res')) > 9000, 'refreshTimeout reset the expiry');
    await release();
    t.equal(await owner.exists('@simple-redis-mutex:lock-res'), 0, 'release deleted the key');
    const [again, release2] = await tryLock(other, 'res', { timeout: 2000 });
    t.equal(again, true, 'another owner acquires after release');
    t.ok(release2.fencingToken > release.fencingToken, 'with a larger fencing token');
    await release2();
  });

  await t.test('release wakes a blocked waiter through PUBLISH from Lua', async (t) => {
    const other = await nodeRedis(t, target);
    const release = await lock(owner, 'wake', { timeout: 30_000, failAfter: 20_000 });
    let woke = false;
    // Polling is effectively off (1 h), so only the pub/sub message can wake the waiter.
    const waiting = lock(other, 'wake', { timeout: 30_000, pollingInterval: 3_600_000, failAfter: 20_000 }).then((r) => ((woke = true), r));
    const [held] = await tryLock(other, 'wake');
    t.equal(held, false, 'held while the first owner has it');
    t.equal(woke, false, 'the waiter is blocked');
    await release();
    const release2 = await waiting;
    t.ok(release2.fencingToken > release.fencingToken, 'the waiter got the lock after the release');
    await release2();
  });

  await t.test('an unrefreshed lock expires', async (t) => {
    const other = await nodeRedis(t, target);
    const [got] = await tryLock(owner, 'short', { timeout: SHORT_TTL_MS });
    t.equal(got, true);
    const { heldAtFirst } = await expectExpiry(async () => (await tryLock(other, 'short', { timeout: 10_000 }))[0], SHORT_TTL_MS);
    t.ok(heldAtFirst, 'held before the TTL ran out');
  });

  await t.test(`${CONTENDERS} contenders never lose an update; fencing tokens grow`, async (t) => {
    let lastToken = -Infinity;
    let tokensGrew = true;
    const contenders: Contender[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const client = await nodeRedis(t, target);
      contenders.push({
        withLock: async (critical) => {
          const release = await lock(client, 'counter', { timeout: 10_000, pollingInterval: 50, failAfter: 20_000 });
          try {
            if (!(release.fencingToken > lastToken)) tokensGrew = false;
            lastToken = release.fencingToken;
            await critical();
          } finally {
            await release();
          }
        },
      });
    }
    const result = await runContention(t, target, 'srm:counter', contenders);
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
    t.ok(tokensGrew, 'every grant had a larger fencing token than the one before');
  });

  // Closing the owner makes the library unsubscribe and close its subscriber before the target stops.
  const observer = await nodeRedis(t, target);
  await owner.close();
  await waitFor('the library to close its subscriber', async () => {
    const reply = (await observer.sendCommand(['PUBSUB', 'NUMSUB', '@simple-redis-mutex:locks-releases'])) as [string, number];
    return Number(reply[1]) === 0;
  });
});
