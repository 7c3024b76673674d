// Workload 5: memory per held lock, and the time a stopped cluster takes to serve again.
//
// On a freshly started target: read every node's RSS (VmRSS in /proc/<pid>/status), acquire
// `locks` locks with a 10-minute TTL, wait until every node has applied them, let the heap settle,
// read RSS again; bytes per lock per node = (RSS after - RSS before) / locks. Then SIGTERM every
// node, wait for the exits, start them all again on their data dirs and time from the spawn to the
// first acknowledged acquire through any node together with a read of a loaded lock that returns
// its owner (both on the leader, reached directly or through a follower that forwards to it).
//
// Loaders (same keys `lock:<i>` and 32-hex-char owners everywhere):
//   quorumlock: LOCK lock:<i> <owner> 600000, pipelined 1000 at a time from 4 ioredis clients;
//   redis:      SET lock:<i> <owner> NX PX 600000, the same way (restart reloads the AOF);
//   etcd:       the lock transaction "create_revision == 0 ? put with lease" from one client with
//               512 in flight, each key attached to one of 16 leases of 600 s (a lease is a
//               session; etcd's own mutex puts one session's keys on one lease).

import Redis from 'ioredis';
import { Etcd3 } from 'etcd3';
import { command } from '../../test/helpers/cluster';
import { waitFor } from '../../test/helpers/net';
import { pinnedEtcdClient } from '../targets/etcd';
import { rssBytes, type Target } from '../targets/target';
import { setTimeout as sleep } from 'node:timers/promises';
import { nowMs } from './stats';

export interface MemoryNode {
  id: string;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerLock: number;
  /** The lowest RSS seen while idle for `idleSeconds` after the load (when measured). */
  rssIdleBytes?: number;
  bytesPerLockIdle?: number;
}

export interface MemoryResult {
  target: string;
  workload: 'memory';
  locks: number;
  loadSeconds: number;
  locksPerSec: number;
  nodes: MemoryNode[];
  /** The largest per-node figure (what one node needs per lock). */
  bytesPerLockMax: number;
  /** SIGTERM to every node -> all exited (ms). */
  stopMs: number;
  /** Spawn of every node -> first acknowledged acquire and a correct read of a loaded lock (ms). */
  serveMs: number;
  /** Spawn -> each node accepts requests again (quorumlock: PING, etcd: status, redis: PING after the AOF load), by node id (ms). */
  answeredMs: Record<string, number>;
  /** Loaded locks found with their owner after the restart, out of the sample checked. */
  verifiedAfterRestart: string;
  /** Leader before and after the load (a change means an election under load), and the acquires retried because of it. */
  leaderBeforeLoad: string;
  leaderAfterLoad: string;
  retriedAcquires: number;
  retryReason: string;
}

const TTL_MS = 600_000;
const BATCH = 1000;

export function lockKey(i: number): string {
  return `lock:${i}`;
}

/** A distinct 32-hex-char owner per lock, like a random token (cheap to recompute for checks). */
export function lockOwner(i: number): string {
  const a = (Math.imul(i, 2654435761) >>> 0).toString(16).padStart(8, '0');
  const b = (Math.imul(i ^ 0x5bd1e995, 1597334677) >>> 0).toString(16).padStart(8, '0');
  return a + b + b + a;
}

/** Acquires refused because of a leader change and retried, with the first error text seen. */
export const retried = { count: 0, firstError: '' };

async function retryAcquire(target: Target, conn: Redis, i: number, error: Error): Promise<void> {
  retried.count++;
  retried.firstError ||= error.message;
  for (let attempt = 0; ; attempt++) {
    await sleep(Math.min(200, 10 * 2 ** attempt));
    try {
      const reply = target.kind === 'quorumlock' ? await conn.call('LOCK', lockKey(i), lockOwner(i), String(TTL_MS)) : await conn.set(lockKey(i), lockOwner(i), 'PX', TTL_MS, 'NX');
      if (reply === null) throw new Error(`${lockKey(i)} was already held`);
      return;
    } catch (e) {
      if (attempt >= 50 || /already held/.test(String(e))) throw e;
    }
  }
}

async function loadRespLocks(target: Target, port: number, locks: number, log: (l: string) => void): Promise<void> {
  const conns = Array.from({ length: 4 }, () => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, enableOfflineQueue: true }));
  conns.forEach((c) => c.on('error', () => undefined));
  let next = 0;
  let done = 0;
  let lastLogMs = nowMs();
  try {
    // Two batches in flight per connection: the server always has the next one to read.
    const lane = async (conn: Redis): Promise<void> => {
      while (next < locks) {
        const first = next;
        const end = Math.min(locks, next + BATCH);
        next = end;
        const pipeline = conn.pipeline();
        for (let i = first; i < end; i++) {
          if (target.kind === 'quorumlock') pipeline.call('LOCK', lockKey(i), lockOwner(i), String(TTL_MS));
          else pipeline.set(lockKey(i), lockOwner(i), 'PX', TTL_MS, 'NX');
        }
        const replies = (await pipeline.exec()) ?? [];
        const retries: Promise<void>[] = [];
        for (let k = 0; k < replies.length; k++) {
          const [error, reply] = replies[k];
          // A leader change fails the uncommitted writes (CLUSTERDOWN, UNCERTAIN...): retry them as
          // a client would; re-acquiring as the same owner is safe either way.
          if (error) retries.push(retryAcquire(target, conn, first + k, error));
          else if (reply === null) throw new Error(`${lockKey(first + k)} was already held`);
        }
        await Promise.all(retries);
        done += end - first;
        if (nowMs() - lastLogMs > 10_000) {
          lastLogMs = nowMs();
          log(`    loaded ${done} of ${locks}`);
        }
      }
    };
    await Promise.all(conns.flatMap((c) => [lane(c), lane(c)]));
  } finally {
    conns.forEach((c) => c.disconnect());
  }
}

async function loadEtcdLocks(port: number, locks: number, log: (l: string) => void): Promise<void> {
  const client = new Etcd3({ hosts: `http://127.0.0.1:${port}`, defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 30_000 }) });
  try {
    const leases = await Promise.all(Array.from({ length: 16 }, () => client.lease(TTL_MS / 1000, { autoKeepAlive: false }).grant()));
    let next = 0;
    let lastLogMs = nowMs();
    const lane = async (): Promise<void> => {
      while (next < locks) {
        const i = next++;
        const r = await client.if(lockKey(i), 'Create', '==', 0).then(client.put(lockKey(i)).value(lockOwner(i)).lease(leases[i % leases.length])).commit();
        if (!r.succeeded) throw new Error(`${lockKey(i)} was already held`);
        if (i % 10_000 === 0 && nowMs() - lastLogMs > 10_000) {
          lastLogMs = nowMs();
          log(`    loaded ~${i} of ${locks}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 512 }, lane));
  } finally {
    client.close();
  }
}

/** One acquire and one read of a loaded lock through `port`: true when both succeed. */
async function serves(target: Target, port: number, sample: number): Promise<boolean> {
  if (target.kind === 'etcd') {
    const client = pinnedEtcdClient(port, 500);
    try {
      await client.put('restart:probe').value('p');
      return (await client.get(lockKey(sample)).string()) === lockOwner(sample);
    } catch {
      return false;
    } finally {
      client.close();
    }
  }
  const acquire = target.kind === 'quorumlock' ? ['LOCK', 'restart:probe', `probe-${process.pid}`, 30_000] : ['SET', 'restart:probe', 'p', 'PX', 30_000];
  const acquired = await command(port, acquire, 500).catch((e: Error) => e);
  if (acquired instanceof Error || acquired === null) return false;
  return (await command(port, ['GET', lockKey(sample)], 500).catch(() => null)) === lockOwner(sample);
}

/** How many of `sample` loaded locks read back with their owner through `port`. */
async function verify(target: Target, port: number, locks: number, sample: number): Promise<number> {
  let found = 0;
  const etcd = target.kind === 'etcd' ? pinnedEtcdClient(port, 5000) : null;
  try {
    for (let k = 0; k < sample; k++) {
      const i = Math.floor((k * locks) / sample);
      const value = etcd ? await etcd.get(lockKey(i)).string() : await command(port, ['GET', lockKey(i)], 5000);
      if (value === lockOwner(i)) found++;
    }
  } finally {
    etcd?.close();
  }
  return found;
}

export async function runMemory(target: Target, options: { locks: number; idleSeconds?: number; log?: (line: string) => void }): Promise<MemoryResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { nodes } = target;
  const locks = options.locks;
  await sleep(1000); // let the freshly started processes finish their start-up allocations
  const before = new Map(nodes.ids.map((id) => [id, rssBytes(nodes.pid(id))]));

  const leaderBeforeLoad = await nodes.leader();
  const leaderPort = nodes.port(leaderBeforeLoad);
  retried.count = 0;
  retried.firstError = '';
  const loadStartMs = nowMs();
  if (target.kind === 'etcd') await loadEtcdLocks(leaderPort, locks, log);
  else await loadRespLocks(target, leaderPort, locks, log);
  const loadSeconds = (nowMs() - loadStartMs) / 1000;
  const leaderAfterLoad = await nodes.leader(30_000);
  if (leaderAfterLoad !== leaderBeforeLoad || retried.count) log(`  leader ${leaderBeforeLoad} -> ${leaderAfterLoad} during the load; ${retried.count} acquires retried (${retried.firstError})`);
  for (const id of nodes.ids) await nodes.caughtUp(id, 120_000);
  await sleep(2000); // followers' last applies and the allocator settle
  const nodeResults: MemoryNode[] = nodes.ids.map((id) => {
    const rssAfterBytes = rssBytes(nodes.pid(id));
    const rssBeforeBytes = before.get(id)!;
    return { id, rssBeforeBytes, rssAfterBytes, bytesPerLock: (rssAfterBytes - rssBeforeBytes) / locks };
  });
  log(`  memory, ${locks} locks loaded in ${loadSeconds.toFixed(1)} s: ${nodeResults.map((n) => `${n.id} ${(n.rssBeforeBytes / 1048576).toFixed(0)} -> ${(n.rssAfterBytes / 1048576).toFixed(0)} MiB (${n.bytesPerLock.toFixed(0)} B/lock)`).join(', ')}`);
  // The figure above holds what the load left for the garbage collectors (V8's heap and the
  // buffers it owns, ~100-200 MiB whatever the lock count); a held lock's lasting cost shows once
  // the process has been idle long enough for V8's memory reducer (30-60 s here). Reported
  // beside it, never instead of it.
  if (options.idleSeconds) {
    const lowest = new Map(nodeResults.map((n) => [n.id, n.rssAfterBytes]));
    for (let waited = 0; waited < options.idleSeconds; waited += 5) {
      await sleep(5000);
      for (const id of nodes.ids) lowest.set(id, Math.min(lowest.get(id)!, rssBytes(nodes.pid(id))));
    }
    for (const n of nodeResults) {
      n.rssIdleBytes = lowest.get(n.id)!;
      n.bytesPerLockIdle = (n.rssIdleBytes - n.rssBeforeBytes) / locks;
    }
    log(`  memory after ${options.idleSeconds} s idle (lowest RSS seen): ${nodeResults.map((n) => `${n.id} ${n.bytesPerLockIdle!.toFixed(0)} B/lock`).join(', ')}`);
  }

  // Restart: SIGTERM everything, then start everything and wait until a leader serves.
  const stopStartMs = nowMs();
  await Promise.all(nodes.ids.map((id) => nodes.signal(id, 'SIGTERM')));
  const stopMs = nowMs() - stopStartMs;
  const spawnedAtMs = nowMs();
  const answeredMs = new Map<string, number>();
  const starting = nodes.ids.map((id) => nodes.start(id).then(() => (answeredMs.set(id, nowMs() - spawnedAtMs), null), (e: Error) => e));
  const sample = Math.floor(locks / 2) + 1;
  const servedAtMs = await waitFor('the restarted target to serve', async () => {
    const ok = await Promise.all(nodes.ids.map((id) => serves(target, nodes.port(id), sample).catch(() => false)));
    return ok.includes(true) ? nowMs() : 0;
  }, 300_000, 10);
  const serveMs = servedAtMs - spawnedAtMs;
  const startErrors = (await Promise.all(starting)).filter((e): e is Error => e !== null);
  if (startErrors.length) throw new Error(`restart failed: ${startErrors.map(String).join('; ')}`);
  const checked = 1000;
  const found = await verify(target, nodes.port(await nodes.leader()), locks, checked);
  const answered = nodes.ids.map((id) => `${id} ${(answeredMs.get(id) ?? NaN).toFixed(0)}`).join(', ');
  log(`  restart: SIGTERM -> all exited ${stopMs.toFixed(0)} ms; spawn -> each node answers (ms): ${answered}; spawn -> serving ${serveMs.toFixed(0)} ms; ${found}/${checked} sampled locks read back with their owner`);
  return {
    target: target.name,
    workload: 'memory',
    locks,
    loadSeconds,
    locksPerSec: locks / loadSeconds,
    nodes: nodeResults,
    bytesPerLockMax: Math.max(...nodeResults.map((n) => n.bytesPerLock)),
    stopMs,
    serveMs,
    verifiedAfterRestart: `${found}/${checked}`,
    answeredMs: Object.fromEntries(answeredMs),
    leaderBeforeLoad,
    leaderAfterLoad,
    retriedAcquires: retried.count,
    retryReason: retried.firstError,
  };
}
