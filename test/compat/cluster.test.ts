// Proves the libraries keep their guarantees on a real 3-node quorumlock cluster (three processes,
// Raft over TCP, followers proxying to the leader): contenders connected to different nodes, each
// node serving a third of them, still exclude each other through redlock 5 and through the native
// LOCK (with tokens that grow across nodes); and a lock granted before the leader is killed is still
// held, with the same owner and token, by the cluster that survives. Skipped on redis-server.

import t from 'tap';
import Redlock from 'redlock5';
import type Redis from 'ioredis';
import { startCluster, ioredisClient, roles, targetKind, waitFor, type ClusterNode } from './target';
import { runContention, acquireRetrying, CONTENDERS, RETRIES, RETRY_MS, type Contender } from './harness';

const skip = targetKind() !== 'quorumlock' ? 'needs quorumlock processes (COMPAT_TARGET is not quorumlock)' : false;

const lock = (c: Redis, key: string, owner: string, ttlMs: number) => c.call('LOCK', key, owner, String(ttlMs)) as Promise<number | null>;

t.test('a 3-node cluster', { skip }, async (t) => {
  const nodes = await startCluster(t, 3);

  await t.test(`redlock 5: ${CONTENDERS} contenders spread over the 3 nodes never lose an update`, async (t) => {
    const contenders: Contender[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const redlock = new Redlock([await ioredisClient(t, nodes[i % 3])], { retryCount: RETRIES, retryDelay: RETRY_MS, retryJitter: RETRY_MS });
      contenders.push({
        withLock: async (critical) => {
          const held = await redlock.acquire(['cluster:redlock'], 10_000);
          try {
            await critical();
          } finally {
            await held.release();
          }
        },
      });
    }
    const result = await runContention(t, nodes[0], 'cluster:redlock-counter', contenders, undefined, { dataTargets: nodes });
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
  });

  await t.test(`native LOCK: ${CONTENDERS} contenders over 3 nodes, tokens strictly increase`, async (t) => {
    let lastToken = 0;
    let tokensGrew = true;
    const contenders: Contender[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const client = await ioredisClient(t, nodes[i % 3]);
      contenders.push({
        withLock: async (critical) => {
          const token = await acquireRetrying('the native lock', () => lock(client, 'cluster:native', `w${i}`, 10_000));
          try {
            if (!(token > lastToken)) tokensGrew = false;
            lastToken = token;
            await critical();
          } finally {
            await client.call('UNLOCK', 'cluster:native', `w${i}`);
          }
        },
      });
    }
    const result = await runContention(t, nodes[0], 'cluster:native-counter', contenders, undefined, { dataTargets: nodes });
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
    t.ok(tokensGrew, 'every grant had a larger token than the one before, whichever node granted it');
  });

  await t.test('a lock survives the leader being killed', async (t) => {
    const before = await roles(nodes);
    const leader = nodes[before.indexOf('leader')];
    const survivors = nodes.filter((n) => n !== leader) as ClusterNode[];
    const owner = await ioredisClient(t, survivors[0]);
    const token = (await lock(owner, 'cluster:failover', 'alice', 60_000))!;
    t.type(token, 'number', 'granted through a follower');
    const redlockHeld = await new Redlock([owner], { retryCount: 0 }).acquire(['cluster:failover-redlock'], 60_000);

    await leader.kill();
    await waitFor('a new leader among the survivors', async () => (await roles(survivors)).includes('leader'), 20_000, 50);

    const rival = await ioredisClient(t, survivors[1]);
    // Until the new leader serves, a command can fail; the first definitive answer must be a refusal.
    const refused = await waitFor('a definitive answer from the new leader', () => lock(rival, 'cluster:failover', 'bob', 60_000).then((r) => ({ r })), 20_000, 50);
    t.equal(refused.r, null, 'another owner is still refused after the failover');
    const info = (await rival.call('LOCKINFO', 'cluster:failover')) as unknown[] | Record<string, unknown>;
    const fields = Array.isArray(info) ? Object.fromEntries(info.flatMap((v, i) => (i % 2 === 0 ? [[String(v), info[i + 1]]] : []))) : info;
    t.equal(fields.owner, 'alice', 'the owner survived');
    t.equal(Number(fields.token), token, 'and so did its token');
    await t.rejects(new Redlock([rival], { retryCount: 0 }).acquire(['cluster:failover-redlock'], 10_000), 'the redlock lock is still held too');
    t.equal(await rival.get('cluster:failover-redlock'), redlockHeld.value, 'with the same value');

    t.equal(await owner.call('UNLOCK', 'cluster:failover', 'alice'), 1, 'the owner releases through the new leader');
    const next = await lock(rival, 'cluster:failover', 'bob', 60_000);
    t.ok(next !== null && next > token, `the next grant has a larger token (${token} then ${next})`);
  });
});
