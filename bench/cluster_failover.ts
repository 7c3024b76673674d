// Figures for a replicated cluster on loopback (real processes, real disk; prints, asserts nothing):
//
// 1. Failover time over `kills` leader kills on a 3-node cluster (--tick-ms 20 --election-ticks
//    10, so a 200 ms election timeout): kill -9 the leader -> first acknowledged write sent after
//    the kill, as seen by (a) an ioredis Sentinel-mode client writing in a loop and (b) a probe
//    that writes through fresh connections to every surviving node. The killed node is restarted
//    and caught up before the next round.
// 2. Lock cycles per second (LOCK + UNLOCK pairs, each client on its own key): `clients` ioredis
//    connections for `seconds` s, on a single node, on a 3-node cluster's leader, and through a
//    3-node cluster's follower (proxy mode).
//
// Run: npx tsc -p . && node dist/bench/cluster_failover.js [kills=10] [clients=50] [seconds=5]

import * as os from 'node:os';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import Redis from 'ioredis';
import { Cluster, clusterPort, command, raftInfo } from '../test/helpers/cluster';
import { binPath, tempDir, waitFor } from '../test/helpers/servers';

const teardowns: Array<() => unknown> = [];
const harness = { teardown: (fn: () => unknown) => teardowns.push(fn), passing: () => true, comment: (...a: unknown[]) => console.log(...a) };

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return `median ${median} ms, max ${sorted[sorted.length - 1]} ms, min ${sorted[0]} ms (n=${sorted.length})`;
}

async function probe(ports: number[], sinceMs: number): Promise<number> {
  for (let i = 0; Date.now() - sinceMs < 30_000; i++) {
    const replies = await Promise.all(ports.map((p) => command(p, ['SET', `probe:${sinceMs}:${i}`, 'x'], 300).catch(() => null)));
    if (replies.includes('OK')) return Date.now() - sinceMs;
  }
  return Infinity;
}

async function failover(kills: number): Promise<void> {
  const cluster = await Cluster.start(harness);
  const sentinels = [...cluster.nodes.values()].map((n) => ({ host: '127.0.0.1', port: n.port }));
  const client = new Redis({ sentinels, name: 'mymaster', sentinelRetryStrategy: () => 20, retryStrategy: () => 20, maxRetriesPerRequest: null, connectTimeout: 500 });
  client.on('error', () => undefined);
  const acks: Array<{ sentAtMs: number; ackAtMs: number }> = [];
  let stop = false;
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      const sentAtMs = Date.now();
      try {
        await client.set(`k${i}`, 'v');
        acks.push({ sentAtMs, ackAtMs: Date.now() });
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  })();
  const sentinelMs: number[] = [];
  const probeMs: number[] = [];
  for (let round = 0; round < kills; round++) {
    await waitFor('writes flowing', () => acks.length > 0 && Date.now() - acks[acks.length - 1].ackAtMs < 100, 30_000);
    const leader = await cluster.leader();
    const survivors = cluster.aliveIds().filter((id) => id !== leader.id).map((id) => cluster.node(id).port);
    const killedAtMs = Date.now();
    await cluster.kill(leader.id);
    const [first, probed] = await Promise.all([
      waitFor('a write after the kill', () => acks.find((a) => a.sentAtMs >= killedAtMs), 30_000),
      probe(survivors, killedAtMs),
    ]);
    sentinelMs.push(first!.ackAtMs - killedAtMs);
    probeMs.push(probed);
    console.log(`  kill ${round + 1}: ${leader.id} -> Sentinel client ${first!.ackAtMs - killedAtMs} ms, probe ${probed} ms`);
    const fresh = await cluster.leader();
    const commit = Number((await raftInfo(fresh.port)).raft_commit_index);
    await cluster.restart(leader.id);
    await waitFor('caught up', async () => Number((await raftInfo(leader.port)).raft_applied_index) >= commit, 20_000);
  }
  stop = true;
  await loop;
  client.disconnect();
  console.log(`failover, Sentinel client (kill -9 -> first ack of a write sent after it): ${stats(sentinelMs)}`);
  console.log(`failover, probe on fresh connections to the survivors:                   ${stats(probeMs)}`);
  await runTeardowns();
}

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
  const child = spawn(process.execPath, [binPath, 'serve', '--port', String(port), '--raft-port', String(await clusterPort()), '--data-dir', dataDir, '--tick-ms', '20'], { stdio: 'ignore' });
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
  const kills = Number(process.argv[2] ?? 10);
  const clients = Number(process.argv[3] ?? 50);
  const seconds = Number(process.argv[4] ?? 5);
  console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`);
  await failover(kills);

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
