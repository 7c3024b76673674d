// Proves a client of a leader that is paused (SIGSTOP), deposed while it sleeps, and woken up
// (SIGCONT) gets an answer to the write it sent meanwhile, and its connection keeps working.
// While the old leader sleeps the others elect a new leader and write enough to compact their
// logs, so the old leader catches up from a snapshot that covers the index of its write.
//
// Once a bug (found by the fault suite): a write whose index a snapshot covered was never
// answered, and since replies on a connection go out in order, that connection hung for good.

import t from 'tap';
import Redis from 'ioredis';
import { Cluster, RawConnection, RespError, raftInfo } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';

t.test('a write sent to a paused leader is answered after it wakes up deposed', async (t) => {
  const cluster = await Cluster.start(t, { nodeArgs: () => ['--snapshot-entries', '100'] });
  const old = await cluster.leader();
  const conn = await RawConnection.connect(old.port);
  t.teardown(() => conn.close());
  t.equal(await conn.call(['SET', 'before', '1']), 'OK');

  const oldChild = cluster.node(old.id).child!;
  oldChild.kill('SIGSTOP');
  t.teardown(() => oldChild.kill('SIGCONT'));
  // Sent while it sleeps: it reads and proposes this as soon as it wakes, still thinking it leads.
  const pending = conn.call(['SET', 'during', '1'], 30_000).then(
    (reply) => ({ reply: String(reply) }),
    (error: Error) => ({ reply: `error: ${error.message}` }),
  );
  const others = [...cluster.nodes.values()].filter((n) => n.id !== old.id).map((n) => n.id);
  const next = await cluster.leader(others, 15_000);
  const client = new Redis({ port: next.port, maxRetriesPerRequest: 0 });
  t.teardown(() => client.disconnect());
  for (let i = 0; i < 300; i++) await client.set(`k${i}`, String(i));
  await waitFor('the new leader to compact its log', async () => Number((await raftInfo(next.port)).raft_snapshot_index) > 200, 15_000);

  oldChild.kill('SIGCONT');
  const { reply } = await pending;
  t.comment(`the write sent to the sleeping leader was answered: ${reply}`);
  t.match(reply, /^(OK|(Error|error): (UNCERTAIN|CLUSTERDOWN))/, 'answered: done, not done, or unknown');
  // The same connection answers again. Its first read may meet the woken node between roles
  // (a read batch whose leader changed is refused with TRYAGAIN, retryable): retry those only.
  const refusals: string[] = [];
  await waitFor('a read on the same connection to return the value', async () => {
    const value = await conn.call(['GET', 'before'], 10_000);
    if (value === '1') return true;
    refusals.push(value instanceof RespError ? value.message : `not an error: ${String(value)}`);
    return false;
  }, 10_000, 50);
  t.ok(refusals.every((r) => /^(TRYAGAIN|CLUSTERDOWN) /.test(r)), `and the connection keeps working (retryable refusals first: ${refusals.length ? refusals.join(' | ') : 'none'})`);
});
