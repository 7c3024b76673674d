// Proves a member whose data dir was wiped cannot come back under its old identity with an empty
// log (it could then vote away writes it had acknowledged): the cluster refuses it with a message
// that says what happened and what to do, the node stops, and the cluster keeps serving. After
// RAFT.REMOVENODE and a restart with --join + RAFT.ADDNODE, the same id is a member again and
// catches up.

import t from 'tap';
import * as fs from 'node:fs';
import { Cluster, command } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';

t.test('a wiped member is refused and told to be removed and re-added', async (t) => {
  const cluster = await Cluster.start(t);
  const leader = await cluster.leader();
  for (let i = 0; i < 20; i++) t.equal(await command(leader.port, ['SET', `k${i}`, `v${i}`]), 'OK');
  const victim = [...cluster.nodes.values()].find((n) => n.id !== leader.id)!;
  // Every member's incarnation is on record once it has said hello to the leader.
  await waitFor('the incarnations to be recorded', async () => (await command(leader.port, ['SET', 'sync', '1'])) === 'OK');
  await new Promise((r) => setTimeout(r, 500)); // hellos go out every election timeout (200 ms here)

  await cluster.kill(victim.id);
  fs.rmSync(victim.dataDir, { recursive: true, force: true });
  // Restart under the old identity with an empty data dir: it must be refused and stop by itself.
  const restarted = cluster.restart(victim.id).catch((error: Error) => error);
  const exitCode = await victim.exited;
  await restarted;
  t.not(exitCode, 0, `the wiped node stopped (exit ${exitCode})`);
  t.match(victim.log, /data dir (is not the one this cluster knows|is behind what the cluster knows)/, 'it says what happened');
  t.match(victim.log, /RAFT\.REMOVENODE/, 'and what to do');
  t.equal(await command(leader.port, ['SET', 'still', 'serving']), 'OK', 'the cluster keeps serving');

  // The fix the message names: remove it, start it with --join, add it again.
  t.match(String(await command(leader.port, ['RAFT.REMOVENODE', victim.id], 5000)), /^OK/);
  await cluster.waitVoters(cluster.aliveIds(), cluster.aliveIds());
  fs.rmSync(victim.dataDir, { recursive: true, force: true });
  victim.args.push('--join');
  await cluster.restart(victim.id);
  await waitFor(
    'RAFT.ADDNODE to be accepted',
    async () => /^OK/.test(String(await command(leader.port, ['RAFT.ADDNODE', victim.id, `127.0.0.1:${victim.raftPort}`], 5000))),
    15_000,
    200,
  );
  await cluster.waitVoters(['n1', 'n2', 'n3'], cluster.aliveIds(), 20_000);
  await waitFor('the re-added node to catch up', async () => (await command(victim.port, ['GET', 'k19'])) === 'v19', 15_000);
  t.pass(`${victim.id} is a voter again and has the data`);
});
