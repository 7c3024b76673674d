// A 3-node etcd cluster from Debian's etcd-server package, on loopback with temp data dirs
// (installed with apt-get when missing). Clients connect to the leader, as ioredis does to the
// quorumlock leader, so neither side pays a follower->leader forwarding hop.

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort, tempDir, waitFor } from '../../test/helpers/net';
import { removeDir, spawnTracked, trackDir, type Tracked } from './processes';
import type { Target } from './target';

export function ensureEtcd(): void {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
  } catch {
    console.log('etcd missing: apt-get update && apt-get install -y etcd-server etcd-client');
    execFileSync('sh', ['-c', 'apt-get update -q && apt-get install -y -q etcd-server etcd-client'], { stdio: 'inherit' });
  }
}

export async function startEtcd(nodes = 3): Promise<Target> {
  ensureEtcd();
  const root = trackDir(tempDir('quorumlock-bench-etcd-'));
  const members = [];
  for (let i = 1; i <= nodes; i++) members.push({ name: `e${i}`, clientPort: await freePort(), peerPort: await freePort() });
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  const procs: Tracked[] = members.map((m) =>
    spawnTracked('etcd', [
      '--name', m.name,
      '--data-dir', path.join(root, m.name),
      '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `bench-${process.pid}`,
      '--logger', 'zap',
      '--log-level', 'warn',
    ]),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()));
    removeDir(root);
  };
  try {
    const endpoints = members.map((m) => `http://127.0.0.1:${m.clientPort}`).join(',');
    const leaderPort = await waitFor('an etcd leader', () => {
      for (const p of procs) if (p.child.exitCode !== null) throw new Error(`etcd exited: ${p.log()}`);
      const out = execFileSync('etcdctl', ['--endpoints', endpoints, 'endpoint', 'status', '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'ignore'], timeout: 3000 }).toString();
      const statuses = JSON.parse(out) as Array<{ Endpoint: string; Status: { header: { member_id: number | string }; leader: number | string } }>;
      const leader = statuses.find((s) => String(s.Status.header.member_id) === String(s.Status.leader) && String(s.Status.leader) !== '0');
      return leader ? Number(new URL(leader.Endpoint).port) : 0;
    }, 20_000, 200);
    // A write through the leader proves the cluster serves.
    const client = new Etcd3({ hosts: `http://127.0.0.1:${leaderPort}` });
    try {
      await waitFor('an etcd write', async () => { await client.put('bench:ready').value('1'); return true; }, 10_000, 100);
    } finally {
      client.close();
    }
    return { name: 'etcd', kind: 'etcd', host: '127.0.0.1', port: leaderPort, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
