// Proves what UNCERTAIN promises a client of a proxy-mode follower. The error says the write "may
// or may not have been applied: read the key to find out before retrying", so once a client has
// read the key and found the write absent, the write must never happen afterwards (otherwise the
// client's retry runs it twice, or a decision taken on the read is wrong).
//
// How: 3 nodes with a fault proxy per link. The follower F's link to the leader L is cut one way
// (L still reaches F, and L keeps its quorum with the third node), so F still knows L as leader
// and forwards a client's SET to it. No reply comes; F answers UNCERTAIN. The client reads the
// key on L (linearizable): absent. The link is healed, then we check the key again. Two kinds of
// cut: connections refused (F's transport queues the forward and flushes it on reconnect) and a
// stalled connection (TCP delivers the bytes once the path is back).
//
// The leader refuses a forward older than half the forward timeout, so one that a partition held
// back is never executed after its client was told UNCERTAIN.

import t, { type Test } from 'tap';
import { Cluster, command, RawConnection, RespError } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';

for (const mode of ['refuse', 'stall'] as const) {
  t.test(`a forwarded write answered UNCERTAIN and read back as absent never happens later (link ${mode})`, (t) => checkLateForward(t, mode));
}

async function checkLateForward(t: Test, mode: 'refuse' | 'stall'): Promise<void> {
  const cluster = await Cluster.start(t, { proxies: true });
  const leader = await cluster.leader();
  const follower = [...cluster.nodes.values()].find((n) => n.id !== leader.id)!;
  t.equal(await command(follower.port, ['SET', 'warm', '1']), 'OK', 'the follower forwards writes while the link is up');

  await cluster.cut(follower.id, leader.id, mode);
  const conn = await RawConnection.connect(follower.port);
  t.teardown(() => conn.close());
  const reply = await conn.call(['SET', 'late', 'written'], 30_000);
  t.ok(reply instanceof RespError && /^(UNCERTAIN|CLUSTERDOWN)/.test(reply.message), `the forwarded write failed: ${String((reply as Error).message ?? reply)}`);
  const info = await cluster.info(leader.id);
  t.equal(`${info.raft_role} ${info.raft_leader_id}`, `leader ${leader.id}`, `${leader.id} kept leading with the third node (the scenario holds)`);
  t.equal(await command(leader.port, ['GET', 'late']), null, 'a linearizable read on the leader: the write is not there');

  await cluster.heal();
  // Give any queued forward every chance to arrive: the follower reconnects within its backoff.
  await waitFor('the follower to be in touch again', async () => (await command(follower.port, ['SET', 'after-heal', '1'], 2000)) === 'OK', 10_000);
  await new Promise((r) => setTimeout(r, 500)); // nothing to wait on: we are checking that something does NOT happen
  t.equal(await command(leader.port, ['GET', 'late']), null, 'the write the client was told to treat as unknown, and read as absent, did not happen later', {
  });
}
