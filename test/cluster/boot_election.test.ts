// Proves the boot election: a cluster whose nodes all start together (a first start, or a restart
// of the whole cluster) elects its first leader as soon as a quorum of voters is connected,
// instead of waiting out an election timeout after they come up. The election timeout here is
// 5-10 s (250 ticks of 20 ms), so a leader within 2.5 s of the last node answering can only come
// from that path. A node restarted alone into a running cluster must not disturb it.

import t from 'tap';
import { Cluster, command } from '../helpers/cluster';

const BOOT_LOG = /a quorum of voters is up and no leader is known since start; campaigning in turn/;

t.test('a cluster restarted whole elects a leader without waiting out the election timeout', async (t) => {
  const cluster = await Cluster.start(t, { electionTicks: 250 });
  const first = await cluster.leader();
  t.equal(await command(first.port, ['SET', 'before', '1']), 'OK', 'the cluster takes writes');

  const ids = cluster.aliveIds();
  await Promise.all(ids.map((id) => cluster.signal(id, 'SIGTERM')));
  for (const id of ids) cluster.node(id).log = '';
  await Promise.all(ids.map((id) => cluster.restart(id)));
  const leader = await cluster.leader(ids, 2_500).catch((error: Error) => {
    t.fail(`no leader within 2.5 s of the restart, less than one election timeout (5 s): ${error.message}\n${cluster.logTail()}`);
    return null;
  });
  if (leader === null) return;
  t.equal(await command(leader.port, ['GET', 'before']), '1', 'the new leader has the acknowledged write');
  t.equal(await command(leader.port, ['SET', 'after', '1']), 'OK', 'and takes new writes');
  const saw = ids.filter((id) => BOOT_LOG.test(cluster.node(id).log));
  t.ok(saw.length > 0, `the nodes logged why they campaigned early (${saw.join(', ')})`);
});

t.test('a node restarted alone does not disturb the running leader', async (t) => {
  const cluster = await Cluster.start(t);
  const leader = await cluster.leader();
  const termBefore = (await cluster.info(leader.id)).raft_term;
  const follower = cluster.aliveIds().find((id) => id !== leader.id)!;
  await cluster.signal(follower, 'SIGTERM');
  t.equal(await command(leader.port, ['SET', 'while-down', '1']), 'OK', 'the cluster takes a write while the follower is down');
  await cluster.restart(follower);
  await cluster.converged();
  const after = await cluster.leader();
  t.equal(after.id, leader.id, 'the leader is unchanged');
  t.equal((await cluster.info(leader.id)).raft_term, termBefore, 'and so is its term: no election happened');
  t.equal(await command(after.port, ['SET', 'after', '1']), 'OK', 'the cluster takes writes');
});
