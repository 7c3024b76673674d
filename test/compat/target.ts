// The server the compatibility tests run against. By default a real `bin/quorumlock serve`
// process on free ports; with COMPAT_TARGET=redis a real redis-server (the reference the tests
// were validated on); with COMPAT_PORT=n an already running server on 127.0.0.1:n (nothing is
// started or stopped then). Each test file starts its own target and it is stopped at teardown,
// so files running in parallel never share keys.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import Redis from 'ioredis';
import { freePort, ping as answersPing, waitFor } from '../helpers/net';

export type TargetKind = 'quorumlock' | 'redis' | 'external';

export interface Target {
  readonly kind: TargetKind;
  readonly host: string;
  readonly port: number;
  /** True when the target speaks quorumlock's native LOCK/UNLOCK/HEARTBEAT/LOCKINFO. */
  readonly native: boolean;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function targetKind(): TargetKind {
  if (process.env.COMPAT_PORT) return 'external';
  const kind = process.env.COMPAT_TARGET ?? 'quorumlock';
  if (kind !== 'quorumlock' && kind !== 'redis') throw new Error(`COMPAT_TARGET must be quorumlock or redis, got '${kind}'`);
  return kind;
}

/** Starts (or points at) the target chosen by the environment; stops it when `t` ends. */
export async function startTarget(t: Teardown): Promise<Target> {
  const kind = targetKind();
  if (kind === 'external') {
    const port = Number(process.env.COMPAT_PORT);
    return { kind, host: '127.0.0.1', port, native: process.env.COMPAT_NATIVE !== '0' };
  }
  if (kind === 'redis') {
    const port = await startRedisServer(t);
    return { kind, host: '127.0.0.1', port, native: false };
  }
  // Loaded lazily so that COMPAT_TARGET=redis works even while the server does not build.
  const { startServerProcess } = await import('../helpers/servers');
  const server = await startServerProcess(t);
  return { kind, host: '127.0.0.1', port: server.port, native: true };
}

async function startRedisServer(t: Teardown): Promise<number> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--databases', '16'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (output += String(error)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  await waitFor(`redis-server on port ${port} (output: ${output})`, () => answersPing(port), 10_000);
  return port;
}

/** A port that was free a moment ago. */
export { freePort, waitFor };

/** An ioredis 6 connection to the target (RESP3, the library's default), closed at teardown. */
export async function ioredisClient(t: Teardown, target: Target, options: { db?: number } = {}): Promise<Redis> {
  const client = new Redis({ host: target.host, port: target.port, db: options.db ?? 0, lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  t.teardown(() => client.disconnect());
  await client.connect();
  return client;
}

/** A node of a quorumlock cluster started by `startCluster`; `kill` stops it hard (SIGKILL). */
export interface ClusterNode extends Target {
  readonly nodeId: string;
  kill(): Promise<void>;
}

/**
 * Starts an `n`-node quorumlock cluster (separate processes, Raft over TCP on free ports, followers
 * proxying to the leader) and waits until every node answers and one of them is the leader.
 */
export async function startCluster(t: Teardown, n: number): Promise<ClusterNode[]> {
  const { spawnQuorumlock, tempDir } = await import('../helpers/servers');
  const specs = [];
  for (let i = 1; i <= n; i++) specs.push({ nodeId: `n${i}`, port: await freePort(), raftPort: await freePort(), dataDir: tempDir('quorumlock-compat-') });
  const peers = specs.map((s) => `${s.nodeId}=127.0.0.1:${s.raftPort}`).join(',');
  const nodes: ClusterNode[] = [];
  for (const spec of specs) {
    const child = spawnQuorumlock(
      ['serve', '--port', String(spec.port), '--data-dir', spec.dataDir, '--node-id', spec.nodeId, '--raft-port', String(spec.raftPort), '--peers', peers, '--tick-ms', '20'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let output = '';
    child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const kill = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    };
    t.teardown(async () => {
      await kill();
      fs.rmSync(spec.dataDir, { recursive: true, force: true });
    });
    nodes.push({ kind: 'quorumlock', host: '127.0.0.1', port: spec.port, native: true, nodeId: spec.nodeId, kill });
    await waitFor(`cluster node ${spec.nodeId} on port ${spec.port} (output: ${output})`, () => answersPing(spec.port), 15_000, 50);
  }
  await waitFor('a cluster leader', async () => (await roles(nodes)).includes('leader'), 15_000, 50);
  return nodes;
}

/** Each node's Raft role from INFO raft ('unreachable' for a node that does not answer). */
export async function roles(nodes: readonly Target[]): Promise<string[]> {
  return Promise.all(
    nodes.map(async (node) => {
      const client = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const info = String(await client.info('raft'));
        return /raft_role:(\w+)/.exec(info)?.[1] ?? 'unknown';
      } catch {
        return 'unreachable';
      } finally {
        client.disconnect();
      }
    }),
  );
}
