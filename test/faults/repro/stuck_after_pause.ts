// Reproduction attempt for a liveness bug the fault run shows (connections that get no reply for
// minutes after a leader is paused, partitioned or killed): a write the leader took but could not
// commit, then the leader paused (SIGSTOP) until the others elected a new leader and wrote past a
// snapshot, then SIGCONT. The write must be answered (UNCERTAIN or CLUSTERDOWN) and the connection
// must go on answering. `isolate` does the same with a partition instead of the pause.
//
//   npx tsc -p . && node dist/test/faults/repro/stuck_after_pause.js [pause|isolate]

import { Cluster, command, RawConnection } from '../../helpers/cluster';
import { setTimeout as sleep } from 'node:timers/promises';

async function main(mode: string): Promise<void> {
  const teardowns: Array<() => unknown> = [];
  const cluster = await Cluster.start(
    { teardown: (f) => teardowns.push(f), passing: () => true, comment: () => undefined },
    { nodes: 3, proxies: true, nodeArgs: () => ['--snapshot-entries', '100'] },
  );
  try {
    const old = await cluster.leader();
    const others = [...cluster.nodes.keys()].filter((id) => id !== old.id);
    const conn = await RawConnection.connect(old.port);
    console.log('SET a 1 ->', await conn.call(['SET', 'a', '1']));
    let pending = 'no reply yet';
    const sentAtMs = Date.now();
    const settle = (r: unknown): void => void (pending = `${r instanceof Error ? r.message : String(r)} after ${Date.now() - sentAtMs} ms`);
    if (mode === 'pause') {
      // The leader can receive but not send: it takes the write and cannot commit it. Then it is
      // paused and its links heal, so it wakes up to a newer term (as after a long GC pause).
      for (const id of others) await cluster.cut(old.id, id, 'drop');
      conn.call(['SET', 'pending', 'x'], 60_000).then(settle, settle);
      await sleep(50);
      cluster.node(old.id).child!.kill('SIGSTOP');
      await cluster.heal();
    } else {
      await cluster.isolate(old.id, 'drop');
      conn.call(['SET', 'pending', 'x'], 60_000).then(settle, settle);
    }
    const fresh = await cluster.leader(others, 15_000);
    console.log(`old leader ${old.id} ${mode === 'pause' ? 'paused' : 'isolated'}; new leader ${fresh.id}`);
    const writer = await RawConnection.connect(fresh.port);
    for (let i = 0; i < 400; i++) await writer.call(['SET', `k${i}`, 'v']);
    writer.close();
    if (mode === 'pause') cluster.node(old.id).child!.kill('SIGCONT');
    else await cluster.heal();
    await cluster.converged(undefined, 15_000);
    console.log(`${old.id} caught up; its snapshot index: ${(await cluster.info(old.id)).raft_snapshot_index}`);
    await sleep(12_000); // longer than the 10 s forward timeout
    console.log(`the pending SET: ${pending}`);
    const ping = await Promise.race([
      conn.call(['PING'], 60_000).then((r) => `PING on the same connection -> ${String(r)}`, (e: Error) => `PING failed: ${e.message}`),
      sleep(3000).then(() => 'PING on the same connection: no reply within 3 s'),
    ]);
    console.log(ping);
    console.log('PING on a new connection ->', await command(old.port, ['PING']));
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

main(process.argv[2] ?? 'pause').then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
