// Proves node-redis 6 finds and follows the leader by itself, as ioredis does: in Sentinel mode
// (createSentinel, every node a sentinel) it keeps writing through a kill -9 of the leader, and in
// Cluster mode (createCluster, seeded with a follower) it reaches the leader that owns every slot.

import t from 'tap';
import { createCluster, createSentinel } from 'redis';
import { Cluster } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';

t.test('node-redis Sentinel mode follows a leader kill', async (t) => {
  const cluster = await Cluster.start(t);
  const sentinel = createSentinel({
    name: 'mymaster',
    sentinelRootNodes: [...cluster.nodes.values()].map((n) => ({ host: '127.0.0.1', port: n.port })),
  });
  sentinel.on('error', () => undefined);
  await sentinel.connect();
  t.teardown(() => sentinel.close().catch(() => undefined));
  t.equal(await sentinel.set('before', '1'), 'OK');

  const leader = await cluster.leader();
  await cluster.kill(leader.id);
  const killedAtMs = Date.now();
  await waitFor(
    'a write through the sentinel client after the kill',
    async () => (await sentinel.set('after', '2').catch(() => null)) === 'OK',
    15_000,
    50,
  );
  t.comment(`node-redis wrote again ${Date.now() - killedAtMs} ms after the leader was killed`);
  t.equal(await sentinel.get('before'), '1', 'the write acknowledged before the kill is there');
  t.equal(await sentinel.get('after'), '2');
  const fresh = await cluster.leader(cluster.aliveIds());
  t.not(fresh.id, leader.id, `the new leader is ${fresh.id}`);
});

t.test('node-redis Cluster mode reaches the leader from a follower seed', async (t) => {
  const cluster = await Cluster.start(t);
  const leader = await cluster.leader();
  const follower = [...cluster.nodes.values()].find((n) => n.id !== leader.id)!;
  const client = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${follower.port}` }] });
  client.on('error', () => undefined);
  await client.connect();
  t.teardown(() => client.close().catch(() => undefined));
  for (let i = 0; i < 20; i++) t.equal(await client.set(`slot-key-${i}`, String(i)), 'OK');
  t.equal(await client.get('slot-key-7'), '7');
  t.equal(await client.get('{tag}a'), null);
});
