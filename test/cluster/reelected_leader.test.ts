// Proves every write a leader proposed is answered when that leader is deposed and elected again
// before its step-down grace period ends, and proposes new entries at the indexes of its old,
// overwritten ones.
//
// The leader is cut off while it holds uncommitted writes; the others elect a new leader, whose
// entries replace the cut-off ones in the old leader's log once the links heal; leadership goes
// back to the old leader at once, and its next proposals take the indexes of its cut-off writes.
//
// Once a bug (found by the fault suite, a stalled bridge): the driver keeps proposed writes' waiters
// by log index, and a new proposal at an index whose old waiter was still there replaced it
// without answering it. The grace period skips a node that leads again, so that write was never
// answered, and since replies on a connection go out in order, its connection hung.

import t from 'tap';
import { Cluster, RawConnection, RespError, command, raftInfo } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';

t.test('writes of a leader deposed and elected again are all answered, and their connections keep working', async (t) => {
  // A 3 s election timeout: the step-down grace period (two of them) is far longer than the heal
  // and transfer below, so the old leader leads again while its old writes are still waiting.
  const cluster = await Cluster.start(t, { proxies: true, electionTicks: 150 });
  const old = await cluster.leader();
  const others = [...cluster.nodes.keys()].filter((id) => id !== old.id);
  t.equal(await command(old.port, ['SET', 'before', '1']), 'OK', 'the cluster takes writes');

  await cluster.isolate(old.id, 'drop');
  const lastIndex = Number((await raftInfo(old.port)).raft_last_log_index);
  // One connection per write, so each write's own answer (or its absence) shows.
  const conns = await Promise.all(Array.from({ length: 5 }, () => RawConnection.connect(old.port)));
  t.teardown(() => conns.forEach((c) => c.close()));
  const replies = conns.map((conn, i) =>
    conn.call(['SET', `cut:${i}`, 'x'], 40_000).then(
      (reply) => (reply instanceof RespError ? reply.message : String(reply)),
      (error: Error) => `no reply: ${error.message}`,
    ),
  );
  await waitFor('the cut-off leader to propose the writes', async () => Number((await raftInfo(old.port)).raft_last_log_index) >= lastIndex + conns.length, 5_000, 10);

  const fresh = await cluster.leader(others, 15_000);
  await cluster.heal();
  // The new leader's entries replace the old leader's uncommitted ones in its log.
  await waitFor(`${old.id} to follow ${fresh.id}`, async () => (await cluster.info(old.id)).raft_leader_id === fresh.id, 10_000, 10);
  await waitFor(`${old.id} to lead again`, async () => {
    const info = await cluster.info(old.id);
    if (info.raft_role === 'leader') return true;
    await command(fresh.port, ['RAFT.TRANSFER', old.id], 1000).catch(() => undefined);
    return false;
  }, 10_000, 100);
  // Its next proposals take the indexes its cut-off writes had.
  for (let i = 0; i < conns.length + 2; i++) t.equal(await command(old.port, ['SET', `after:${i}`, 'x'], 5000), 'OK', `after:${i} acknowledged`);

  const answers = await Promise.all(replies);
  t.comment(`the cut-off writes were answered: ${answers.join(' | ')}`);
  // None of them can have been acknowledged: they never reached the others before being overwritten.
  t.same(answers.filter((a) => !/^(UNCERTAIN|CLUSTERDOWN) /.test(a)), [], 'every cut-off write is answered: did not happen, or unknown');
  const pings = await Promise.all(conns.map((conn) => conn.call(['PING'], 5000).catch((error: Error) => `no reply: ${error.message}`)));
  t.same(pings, conns.map(() => 'PONG'), 'and every connection answers again');
  await cluster.converged();
  const values = await cluster.localValues(old.id, 'cut:*');
  t.same(
    answers.flatMap((a, i) => (a.startsWith('CLUSTERDOWN') && values.has(`cut:${i}`) ? [`cut:${i}`] : [])),
    [],
    'no write answered "did not happen" exists',
  );
});
