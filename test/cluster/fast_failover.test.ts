// Proves fast failover: when the leader's process dies, its followers find its Raft port closed
// (their reconnect is refused), forget it and elect a new leader at once, instead of each waiting
// out an election timeout (1-2 s with the shipped timing). The election timeout here is 3-6 s
// (150 ticks of 20 ms), so a new leader within 2.5 s of the kill can only come from that path.
// Also checks that at light load every node makes its synced log write on the event loop.

import t from 'tap';
import { Cluster, command } from '../helpers/cluster';

t.test("a killed leader's followers elect a new leader without waiting out the election timeout", async (t) => {
  const cluster = await Cluster.start(t, { electionTicks: 150 });
  const leader = await cluster.leader();
  // On the way: at this light load every node writes its small synced log appends on the event
  // loop (no thread-pool round trip): the followers, and the leader for its only write in flight.
  const onLoop = async () => new Map(await Promise.all(cluster.aliveIds().map(async (id) => [id, Number((await cluster.info(id)).raft_fsync_on_event_loop)] as const)));
  const before = await onLoop();
  t.equal(await command(leader.port, ['SET', 'before', '1']), 'OK', 'the cluster takes writes');
  const after = await onLoop();
  for (const [id, count] of after) {
    t.ok(count > before.get(id)!, `${id}${id === leader.id ? ' (leader)' : ''} wrote the SET on the event loop (${before.get(id)} -> ${count} such writes)`);
  }
  const survivors = cluster.aliveIds().filter((id) => id !== leader.id);

  await cluster.kill(leader.id);
  const next = await cluster.leader(survivors, 2_500).catch((error: Error) => {
    t.fail(`no new leader within 2.5 s of the kill, less than one election timeout (3 s): ${error.message}\n${cluster.logTail()}`);
    return null;
  });
  if (next === null) return;
  t.not(next.id, leader.id, `the new leader (${next.id}) is a survivor`);
  t.equal(await command(next.port, ['GET', 'before']), '1', 'the new leader has the acknowledged write');
  t.equal(await command(next.port, ['SET', 'after', '1']), 'OK', 'and takes new writes');
  const saw = survivors.filter((id) => /raft port refuses connections: its process is gone/.test(cluster.node(id).log));
  t.ok(saw.length > 0, `the followers logged why they campaigned early (${saw.join(', ')})`);
});
