// Lock cycles per second on loopback (real processes, real disk; prints, asserts nothing): LOCK +
// UNLOCK pairs, each client on its own key, `clients` ioredis connections for `seconds` s, on a
// single node, on a 3-node cluster's leader, and through a 3-node cluster's follower (proxy mode):
// what replication and follower forwarding cost. (Failover under load, which this script used to
// measure too, is workload 4 of the side-by-side run: bench/workloads/failover.ts.)
//
// Run: npx tsc -p . && node dist/bench/cluster_throughput.js [clients=50] [seconds=5]

import * as os from 'node:os';
import * as fs from 'node:fs';
import Redis from 'ioredis';
import { Cluster, clusterPort, command } from '../test/helpers/cluster';
import { spawnQuorumlock, tempDir, waitFor } from '../test/helpers/servers';

const teardowns: Array<() => unknown> = [];
const harness = { teardown: (fn: () => unknown) => teardowns.push(fn), passing: () => true, comment: (...a: unknown[]) => console.log(...a) };

async function lockCycles(port: number, clients: number, seconds: number): Promise<number> {
  const conns = Array.from({ length: clients }, () => new Redis({ port, maxRetriesPerRequest: 0 }));
  await Promise.all(conns.map((c) => c.ping()));
  let cycles = 0;
  let measuring = false;
  let stop = false;
  const loops = conns.map(async (c, i) => {
    for (let n = 0; !stop; n++) {
      const owner = `o${i}-${n}`;
      const token = await c.call('LOCK', `bench:${i}`, owner, 10_000);
      if (token === null) throw new Error(`bench:${i} was held`);
      await c.call('UNLOCK', `bench:${i}`, owner);
      if (measuring) cycles++;
    }
  });
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  measuring = true;
  const started = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  const counted = cycles;
  stop = true;
  await Promise.all(loops);
  conns.forEach((c) => c.disconnect());
  return Math.round(counted / elapsedS);
}

async function singleNode(): Promise<number> {
  const port = await clusterPort();
  const dataDir = tempDir();
  const child = spawnQuorumlock(['serve', '--port', String(port), '--raft-port', String(await clusterPort()), '--data-dir', dataDir, '--tick-ms', '20'], { stdio: 'ignore' });
  teardowns.push(() => {
    child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  await waitFor('single node', async () => (await command(port, ['PING'], 500)) === 'PONG', 20_000);
  return port;
}

async function runTeardowns(): Promise<void> {
  for (const fn of teardowns.splice(0).reverse()) await fn();
}

async function main(): Promise<void> {
  const clients = Number(process.argv[2] ?? 50);
  const seconds = Number(process.argv[3] ?? 5);
  console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`);

  const single = await lockCycles(await singleNode(), clients, seconds);
  await runTeardowns();
  console.log(`lock cycles/s, single node:              ${single}`);
  const cluster = await Cluster.start(harness);
  const leader = await cluster.leader();
  const follower = [...cluster.nodes.values()].find((n) => n.id !== leader.id)!;
  console.log(`lock cycles/s, 3 nodes, on the leader:   ${await lockCycles(leader.port, clients, seconds)}`);
  console.log(`lock cycles/s, 3 nodes, via a follower:  ${await lockCycles(follower.port, clients, seconds)}`);
  await runTeardowns();
  console.log(`(${clients} ioredis clients, LOCK+UNLOCK on their own keys, ${seconds} s after 1 s warm-up; load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
}

main().then(
  () => process.exit(0),
  async (error) => {
    console.error(error);
    await runTeardowns();
    process.exit(1);
  },
);
