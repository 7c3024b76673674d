// Proves a leader stopped with SIGTERM while a write it proposed cannot commit answers that write
// UNCERTAIN, not "not executed". The entry is in the leader's log and may be in the followers'
// logs too: once the leader is gone they can still commit it. A client told CLUSTERDOWN (ioredis
// retries that by itself) would run the write a second time.
//
// Once a bug: the drain deadline in RaftDriver.stop() answered such writes "CLUSTERDOWN the node is
// shutting down; the command was not executed". The election timeout here (3 s) keeps the leader
// leading through the 5 s drain, so the stop path answers, not the step-down's grace period.

import t from 'tap';
import { Cluster, RawConnection, raftInfo } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';

t.test('a write still uncommitted when its leader is stopped is answered UNCERTAIN', async (t) => {
  const cluster = await Cluster.start(t, { electionTicks: 150 });
  const leader = await cluster.leader();
  const conn = await RawConnection.connect(leader.port);
  t.teardown(() => conn.close());
  t.equal(await conn.call(['SET', 'before', '1']), 'OK', 'the cluster takes writes');

  const followers = [...cluster.nodes.values()].filter((n) => n.id !== leader.id).map((n) => cluster.node(n.id).child!);
  for (const child of followers) child.kill('SIGSTOP');
  t.teardown(() => followers.forEach((child) => child.kill('SIGCONT')));

  const lastIndex = Number((await raftInfo(leader.port)).raft_last_log_index);
  const pending = conn.call(['SET', 'during', '1'], 30_000).then(
    (reply) => String(reply),
    (error: Error) => `error: ${error.message}`,
  );
  await waitFor('the leader to propose the write', async () => Number((await raftInfo(leader.port)).raft_last_log_index) > lastIndex, 5_000, 5);
  t.equal(await cluster.signal(leader.id, 'SIGTERM'), 0, 'the leader exits 0 on SIGTERM');
  const reply = await pending;
  t.match(reply, /^(Error|error): UNCERTAIN /, `the proposed write is answered "outcome unknown": ${reply}`);
});
