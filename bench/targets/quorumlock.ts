// A 3-node quorumlock cluster on loopback with the shipped defaults: synced durability and Raft
// timing of tick 100 ms x 10 election ticks (the e2e Cluster helper's own default is 20 ms ticks,
// so it is overridden here). Started with the e2e tests' Cluster helper (free ports, temp data
// dirs); its processes, including restarted ones, are registered with ./processes so Ctrl-C or a
// crash of the benchmark kills them.

import * as path from 'node:path';
import { Cluster, raftInfo } from '../../test/helpers/cluster';
import { waitFor } from '../../test/helpers/net';
import { trackChild, trackDir } from './processes';
import type { NodeControl, Target } from './target';

/** quorumlock's defaults (src/server/config.ts), passed explicitly because the helper's differ. */
export const QUORUMLOCK_TICK_MS = 100;
export const QUORUMLOCK_ELECTION_TICKS = 10;

/** The name of the cluster startQuorumlockNoFsync starts. */
export const QUORUMLOCK_NO_FSYNC = 'quorumlock-no-fsync';

/**
 * A reference, not a target: a cluster whose nodes never sync their Raft logs
 * (--test-unsafe-no-fsync), which shows what the disk costs (the paired rounds of run.ts, and
 * machine_cpu.ts --no-fsync).
 */
export function startQuorumlockNoFsync(): Promise<Target> {
  return startQuorumlock(3, undefined, ['--test-unsafe-no-fsync'], QUORUMLOCK_NO_FSYNC);
}

/** `nodeArgs`: extra `serve` flags for every node; `name`: the target's name in results. */
export async function startQuorumlock(nodes = 3, bin?: string, nodeArgs: readonly string[] = [], name = 'quorumlock'): Promise<Target> {
  const teardowns: Array<() => unknown> = [];
  const harness = { teardown: (fn: () => unknown) => teardowns.push(fn), passing: () => true, comment: (...a: unknown[]) => console.log(...a) };
  const stop = async (): Promise<void> => {
    for (const fn of teardowns.splice(0).reverse()) await fn();
  };
  try {
    // QUORUMLOCK_NODE_FLAGS: flags for each node's `node` (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
    const execArgv = process.env.QUORUMLOCK_NODE_FLAGS?.split(' ').filter(Boolean);
    const cluster = await Cluster.start(harness, {
      nodes,
      tickMs: QUORUMLOCK_TICK_MS,
      electionTicks: QUORUMLOCK_ELECTION_TICKS,
      execArgv,
      bin,
      nodeArgs: () => [...nodeArgs],
    });
    for (const node of cluster.nodes.values()) if (node.child) trackChild(node.child);
    // The helper's temp root (the parent of every data dir) goes too if the benchmark is killed.
    trackDir(path.dirname(cluster.node('n1').dataDir));
    const leader = await cluster.leader();
    return { name, kind: 'quorumlock', host: '127.0.0.1', port: leader.port, nodes: control(cluster), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function control(cluster: Cluster): NodeControl {
  return {
    ids: [...cluster.nodes.keys()],
    port: (id) => cluster.node(id).port,
    pid: (id) => {
      const pid = cluster.node(id).child?.pid;
      if (!cluster.isAlive(id) || pid === undefined) throw new Error(`quorumlock ${id} is not running`);
      return pid;
    },
    isRunning: (id) => cluster.isAlive(id),
    leader: async (timeoutMs = 10_000) => (await cluster.leader(cluster.aliveIds(), timeoutMs)).id,
    signal: async (id, signal) => {
      await cluster.signal(id, signal);
    },
    start: async (id) => {
      // restart() spawns synchronously, then waits for PING: register the child before that wait.
      const started = cluster.restart(id);
      const child = cluster.node(id).child;
      if (child) trackChild(child);
      await started;
    },
    caughtUp: async (id, timeoutMs) => {
      const leader = (await cluster.leader(cluster.aliveIds(), timeoutMs)).port;
      const commit = Number((await raftInfo(leader)).raft_commit_index);
      await waitFor(`${id} to apply index ${commit}`, async () => Number((await raftInfo(cluster.node(id).port, 500)).raft_applied_index) >= commit, timeoutMs, 50);
    },
    logTail: (lines) => cluster.logTail(lines),
  };
}
