// Proves what a network partition does to a 3-node cluster, with a fault proxy on every directed
// Raft link. Isolating the leader: writes sent to it never get OK (they error or time out), and
// a linearizable read there never returns a value the majority has since overwritten; the two
// others elect a leader and acknowledge writes. After healing, the old leader follows the new one,
// every node has the same keys and values, every write acknowledged anywhere is there, and no
// write sent to the isolated leader exists. A second case cuts only the leader's outbound links
// (it still hears the others): the majority still moves on and the cluster converges after.

import t, { type Test } from 'tap';
import { Cluster, command, RawConnection, RespError } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';

type Outcome = 'OK' | 'error' | 'timeout' | 'other';

async function tryWrite(conn: RawConnection | null, port: number, key: string, timeoutMs: number): Promise<{ outcome: Outcome; detail: string }> {
  try {
    const reply = await (conn ? conn.call(['SET', key, 'x'], timeoutMs) : command(port, ['SET', key, 'x'], timeoutMs));
    if (reply === 'OK') return { outcome: 'OK', detail: 'OK' };
    if (reply instanceof RespError) return { outcome: 'error', detail: reply.message.split(' ')[0] };
    return { outcome: 'other', detail: String(reply) };
  } catch (error) {
    return { outcome: 'timeout', detail: (error as Error).message };
  }
}

/** Writes `count` keys through `port`, retrying each until acknowledged. */
async function writeAll(port: number, prefix: string, count: number): Promise<string[]> {
  const acked: string[] = [];
  for (let i = 0; i < count; i++) {
    await waitFor(`${prefix}${i} acknowledged`, async () => (await command(port, ['SET', `${prefix}${i}`, 'x'], 2000)) === 'OK', 10_000, 20);
    acked.push(`${prefix}${i}`);
  }
  return acked;
}

/** Every node's own view (READONLY) of all keys must be the same map. */
async function sameEverywhere(t: Test, cluster: Cluster): Promise<Map<string, string | null>> {
  await cluster.converged();
  const views = await Promise.all([...cluster.nodes.keys()].map(async (id) => [id, await cluster.localValues(id)] as const));
  const [firstId, first] = views[0];
  for (const [id, view] of views.slice(1)) t.same([...view], [...first], `${id} has the same ${view.size} keys and values as ${firstId}`);
  return first;
}

t.test('isolating the leader: the minority acknowledges nothing, the majority moves on, heal converges', async (t) => {
  const cluster = await Cluster.start(t, { proxies: true });
  const old = await cluster.leader();
  const others = [...cluster.nodes.keys()].filter((id) => id !== old.id);
  const before = await writeAll(old.port, 'pre:', 20);
  t.equal(await command(old.port, ['SET', 'shared', 'before']), 'OK', 'a key written before the partition');

  await cluster.isolate(old.id, 'drop');
  const conn = await RawConnection.connect(old.port);
  t.teardown(() => conn.close());
  // Writes sent to the isolated leader, one after another, for a while: none may succeed.
  const outcomes: Array<{ outcome: Outcome; detail: string }> = [];
  const isolatedStart = Date.now();
  for (let i = 0; Date.now() - isolatedStart < 1500; i++) {
    const result = await tryWrite(i === 0 ? conn : null, old.port, `iso:${i}`, 3000);
    outcomes.push(result);
  }
  t.comment(`writes to the isolated leader: ${outcomes.map((o) => o.detail).join(', ')}`);
  t.ok(outcomes.length > 0, `${outcomes.length} writes were sent to the isolated leader`);
  t.same(outcomes.filter((o) => o.outcome === 'OK'), [], 'no write to the isolated leader was acknowledged');

  const fresh = await cluster.leader(others);
  t.not(fresh.id, old.id, `the majority elected ${fresh.id}`);
  const follower = others.find((id) => id !== fresh.id)!;
  const majorityAcked = [...(await writeAll(fresh.port, 'maj:', 20)), ...(await writeAll(cluster.node(follower).port, 'majf:', 10))];
  t.equal(await command(fresh.port, ['SET', 'shared', 'after']), 'OK', 'the majority overwrites a key');

  const staleRead = await tryGet(old.port, 'shared');
  t.not(staleRead, 'before', `a linearizable read on the isolated old leader does not return the overwritten value (got ${staleRead})`);
  const oldInfo = await cluster.info(old.id);
  t.not(oldInfo.raft_role, 'leader', `the isolated node no longer calls itself leader (role ${oldInfo.raft_role})`);

  await cluster.heal();
  await waitFor(`${old.id} to follow ${fresh.id}`, async () => (await cluster.info(old.id)).raft_leader_id === fresh.id, 10_000);
  const final = await sameEverywhere(t, cluster);
  t.same([...before, ...majorityAcked].filter((k) => final.get(k) !== 'x'), [], 'every acknowledged write is on every node');
  t.equal(final.get('shared'), 'after', 'the majority value of the overwritten key won');
  t.same([...final.keys()].filter((k) => k.startsWith('iso:')), [], 'no write sent to the isolated leader happened');
});

t.test('a one-way cut (the leader cannot send) also moves leadership, and heals', async (t) => {
  const cluster = await Cluster.start(t, { proxies: true });
  const old = await cluster.leader();
  const others = [...cluster.nodes.keys()].filter((id) => id !== old.id);
  const before = await writeAll(old.port, 'pre:', 10);
  for (const id of others) await cluster.cut(old.id, id, 'drop');

  const fresh = await cluster.leader(others);
  t.not(fresh.id, old.id, `the nodes that stopped hearing ${old.id} elected ${fresh.id}`);
  const acked = await writeAll(fresh.port, 'maj:', 20);
  const result = await tryWrite(null, old.port, 'mute:0', 1500);
  t.not(result.outcome, 'OK', `a write through the node that cannot send is not acknowledged (${result.detail})`);

  await cluster.heal();
  await waitFor(`${old.id} to follow ${fresh.id}`, async () => (await cluster.info(old.id)).raft_leader_id === fresh.id, 10_000);
  const final = await sameEverywhere(t, cluster);
  t.same([...before, ...acked].filter((k) => final.get(k) !== 'x'), [], 'every acknowledged write is on every node');
});

async function tryGet(port: number, key: string): Promise<string> {
  try {
    const reply = await command(port, ['GET', key], 2000);
    return reply instanceof RespError ? `error ${reply.message.split(' ')[0]}` : String(reply);
  } catch (error) {
    return `no reply (${(error as Error).message})`;
  }
}

t.test('an isolated follower refuses writes and reads (no leader); the others go on; it catches up on heal', async (t) => {
  const cluster = await Cluster.start(t, { proxies: true });
  const leader = await cluster.leader();
  const [lonely, other] = [...cluster.nodes.keys()].filter((id) => id !== leader.id);
  await cluster.isolate(lonely, 'drop');
  await waitFor(`${lonely} to lose its leader`, async () => (await cluster.info(lonely)).raft_leader_id === '', 10_000);
  const write = await tryWrite(null, cluster.node(lonely).port, 'lonely:0', 5000);
  t.not(write.outcome, 'OK', `a write through the isolated follower is refused (${write.detail})`);
  const read = await tryGet(cluster.node(lonely).port, 'pre');
  t.match(read, /^error CLUSTERDOWN|^no reply/, `a linearizable read there is refused (${read})`);
  t.equal((await cluster.leader([leader.id, other])).id, leader.id, 'the leader keeps leading with the other follower');
  const acked = await writeAll(leader.port, 'maj:', 20);
  await cluster.heal();
  const final = await sameEverywhere(t, cluster);
  t.same(acked.filter((k) => final.get(k) !== 'x'), [], 'the follower caught up with every write made without it');
  t.notOk(final.has('lonely:0'), 'the refused write did not happen');
});

t.test('slow links (every Raft byte delayed 30 ms each way) keep one leader and commit writes', async (t) => {
  const cluster = await Cluster.start(t, { proxies: true });
  const leader = await cluster.leader();
  const termBefore = (await cluster.info(leader.id)).raft_term;
  await Promise.all([...cluster.proxies.values()].map((p) => p.setMode('pass', 30)));
  const acked = await writeAll(leader.port, 'slow:', 30);
  const follower = [...cluster.nodes.keys()].find((id) => id !== leader.id)!;
  t.equal(await command(cluster.node(follower).port, ['GET', 'slow:29']), 'x', 'a follower serves the last write (read index over slow links)');
  const info = await cluster.info(leader.id);
  t.equal(`${info.raft_role} ${info.raft_term}`, `leader ${termBefore}`, 'no election happened: same leader, same term');
  await cluster.heal();
  const final = await sameEverywhere(t, cluster);
  t.same(acked.filter((k) => final.get(k) !== 'x'), [], 'every acknowledged write is on every node');
});
