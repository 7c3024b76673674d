// Proves a rolling restart under load loses nothing acknowledged. A 3-node cluster runs a write
// load (unique keys) and a lock load through ioredis Sentinel clients; each node in turn is
// stopped (SIGTERM, which must exit 0, and kill -9 for one of them), restarted on the same data
// dir and ports, and must catch up before the next one goes. At the end every acknowledged write
// is on every node, and the lock never had two holders at once. Nodes snapshot every 300 entries,
// so restarts load a snapshot and replay the log after it.

import t from 'tap';
import { Cluster, raftInfo } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';
import { sentinelClient } from './clients';
import { describeErrors, LockLoad, missingAcks, WriteLoad } from './load';

t.test('restart every node in turn (SIGTERM, and kill -9 for one) under write load', async (t) => {
  const cluster = await Cluster.start(t, { nodeArgs: () => ['--snapshot-entries', '300'] });
  const clients = Array.from({ length: 5 }, () => sentinelClient(cluster));
  t.teardown(() => clients.forEach((c) => c.disconnect()));

  const writes = new WriteLoad('r');
  const locks = new LockLoad('lock:rolling', 1500);
  writes.start(clients.slice(0, 3));
  locks.start(clients.slice(3));
  await waitFor('load flowing', () => writes.acks.length >= 200, 30_000);

  for (const id of ['n1', 'n2', 'n3']) {
    const hard = id === 'n2';
    await waitFor(`a snapshot on ${id}`, async () => Number((await cluster.info(id)).raft_snapshot_index) > 0, 30_000);
    const wasLeader = (await cluster.leader()).id === id;
    const code = await cluster.signal(id, hard ? 'SIGKILL' : 'SIGTERM');
    if (!hard) t.equal(code, 0, `${id}${wasLeader ? ' (the leader)' : ''} exits 0 on SIGTERM`);
    const leader = await cluster.leader();
    const commit = Number((await cluster.info(leader.id)).raft_commit_index);
    await cluster.restart(id);
    await waitFor(`${id} to catch up to index ${commit}`, async () => Number((await raftInfo(cluster.node(id).port)).raft_applied_index) >= commit, 15_000);
    const acked = writes.acks.length;
    await waitFor(`writes to go on after restarting ${id}`, () => writes.acks.length >= acked + 100, 30_000);
    t.pass(`${id} restarted after ${hard ? 'kill -9' : 'SIGTERM'}${wasLeader ? ' (it was the leader)' : ''} and caught up; writes go on`);
  }

  await Promise.all([writes.stop(), locks.stop()]);
  t.comment(`writes: ${writes.acks.length} acknowledged; errors: ${describeErrors(writes.errors)}`);
  t.comment(`locks: ${locks.cycles} cycles; errors: ${describeErrors(locks.errors)}`);
  t.same(locks.violations, [], 'no two holders at once, and every new holder had a greater token');
  await cluster.converged();
  for (const id of cluster.aliveIds()) {
    const values = await cluster.localValues(id, 'r:*');
    t.same(missingAcks(writes.acks, values), [], `${id} has all ${writes.acks.length} acknowledged writes`);
  }
});
