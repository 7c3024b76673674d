// A 3-node etcd cluster from Debian's etcd-server package, on loopback with temp data dirs
// (installed with apt-get when missing), with etcd's default timing (heartbeat 100 ms, election
// 1000 ms: the same election timeout as quorumlock's defaults). Clients connect to the leader, as
// ioredis does to the quorumlock leader, so neither side pays a follower->leader forwarding hop.
// Members can be killed and started again on their data dirs (workloads 4 and 5).

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { noop } from 'cockatiel';
import { Etcd3, type IStatusResponse } from 'etcd3';
import { freePort, tempDir, waitFor } from '../../test/helpers/net';
import { removeDir, spawnTracked, trackDir, type Tracked } from './processes';
import type { NodeControl, Target } from './target';

export function ensureEtcd(): void {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
    execFileSync('etcdctl', ['version'], { stdio: 'ignore', env: { ...process.env, ETCDCTL_API: '3' } });
  } catch {
    console.log('etcd missing: apt-get update && apt-get install -y etcd-server etcd-client');
    execFileSync('sh', ['-c', 'apt-get update -q && apt-get install -y -q etcd-server etcd-client'], { stdio: 'inherit' });
  }
}

/**
 * A client pinned to one member, with no retries and no circuit breaker (the etcd3 default opens
 * a 5 s breaker after 3 failures, which would hide the moment a member serves again), and a
 * deadline on every call.
 */
export function pinnedEtcdClient(port: number, deadlineMs = 1000): Etcd3 {
  return new Etcd3({
    hosts: `http://127.0.0.1:${port}`,
    faultHandling: { host: () => noop, global: noop },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + deadlineMs }),
    dialTimeout: deadlineMs,
  });
}

async function memberStatus(port: number, deadlineMs = 500): Promise<IStatusResponse | null> {
  const client = pinnedEtcdClient(port, deadlineMs);
  try {
    return await client.maintenance.status();
  } catch {
    return null;
  } finally {
    client.close();
  }
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  args: string[];
  proc: Tracked | null;
}

export async function startEtcd(nodes = 3): Promise<Target> {
  ensureEtcd();
  const root = trackDir(tempDir('quorumlock-bench-etcd-'));
  const members = new Map<string, Member>();
  for (let i = 1; i <= nodes; i++) {
    const name = `e${i}`;
    members.set(name, { name, clientPort: await freePort(), peerPort: await freePort(), args: [], proc: null });
  }
  const initialCluster = [...members.values()].map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
  for (const m of members.values()) {
    // On a restart the data dir exists and etcd ignores the --initial-* flags.
    m.args = [
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
    ];
  }
  const member = (id: string): Member => {
    const m = members.get(id);
    if (!m) throw new Error(`no etcd member ${id}`);
    return m;
  };
  const running = (id: string): boolean => {
    const child = member(id).proc?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  };
  const launch = (id: string): void => {
    const m = member(id);
    if (running(id)) throw new Error(`etcd ${id} is still running`);
    m.proc = spawnTracked('etcd', m.args);
  };
  const checkAlive = (): void => {
    for (const m of members.values()) {
      const child = m.proc?.child;
      if (child && child.exitCode !== null && child.signalCode === null) throw new Error(`etcd ${m.name} exited: ${m.proc!.log().slice(-2000)}`);
    }
  };
  const leader = async (timeoutMs = 10_000): Promise<string> =>
    waitFor('an etcd leader agreed by a majority', async () => {
      checkAlive();
      const ids = [...members.keys()].filter(running);
      const statuses = await Promise.all(ids.map((id) => memberStatus(member(id).clientPort)));
      for (let i = 0; i < ids.length; i++) {
        const s = statuses[i];
        if (!s || s.leader === '0' || String(s.header.member_id) !== String(s.leader)) continue;
        const agree = statuses.filter((o) => o && String(o.leader) === String(s.leader) && o.raftTerm === s.raftTerm).length;
        if (agree > nodes / 2) return ids[i];
      }
      return '';
    }, timeoutMs, 25);

  const control: NodeControl = {
    ids: [...members.keys()],
    port: (id) => member(id).clientPort,
    pid: (id) => {
      const pid = member(id).proc?.child.pid;
      if (!running(id) || pid === undefined) throw new Error(`etcd ${id} is not running`);
      return pid;
    },
    isRunning: running,
    leader,
    signal: async (id, signal) => {
      await member(id).proc?.signal(signal);
    },
    start: async (id) => {
      launch(id);
      await waitFor(`etcd ${id} to answer status`, async () => {
        checkAlive();
        return (await memberStatus(member(id).clientPort)) !== null;
      }, 60_000, 25);
    },
    caughtUp: async (id, timeoutMs) => {
      const leaderStatus = await memberStatus(member(await leader(timeoutMs)).clientPort, 2000);
      if (!leaderStatus) throw new Error('etcd leader did not answer status');
      const commit = BigInt(leaderStatus.raftIndex);
      await waitFor(`etcd ${id} to apply index ${commit}`, async () => {
        const s = await memberStatus(member(id).clientPort);
        return s !== null && BigInt(s.raftAppliedIndex) >= commit;
      }, timeoutMs, 50);
    },
  };

  const stop = async (): Promise<void> => {
    await Promise.all([...members.values()].map((m) => m.proc?.stop()));
    removeDir(root);
  };
  try {
    for (const id of members.keys()) launch(id);
    const leaderId = await leader(20_000);
    const leaderPort = member(leaderId).clientPort;
    // A write through the leader proves the cluster serves.
    const client = new Etcd3({ hosts: `http://127.0.0.1:${leaderPort}` });
    try {
      await waitFor('an etcd write', async () => { await client.put('bench:ready').value('1'); return true; }, 10_000, 100);
    } finally {
      client.close();
    }
    return { name: 'etcd', kind: 'etcd', host: '127.0.0.1', port: leaderPort, nodes: control, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
