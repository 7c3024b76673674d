// Workload 1: the uncontended lock cycle, one load generator for every target. Each of `clients`
// workers loops: acquire a random key among 1M, release it, and records the whole cycle's latency
// with process.hrtime. Redis-protocol targets use ioredis (one connection per worker):
//   redis:      SET k owner NX PX 30000, then a compare-and-delete Lua script (EVALSHA via defineCommand)
//   quorumlock: LOCK k owner 30000 (-> fencing token), then UNLOCK k owner
// etcd uses the etcd3 client the way etcd's own mutex does: one 30 s lease per worker (a session),
// acquire = a transaction "if create_revision(k) == 0 then put k owner with the lease", release =
// delete k. Workers share a few gRPC channels (one per 25 workers), as an application would.

import Redis from 'ioredis';
import { Etcd3, type Lease } from 'etcd3';
import type { Target } from '../targets/target';
import { percentiles, type LatencySummary } from './stats';

export interface LockCycleResult extends LatencySummary {
  target: string;
  workload: 'lock_cycle';
  clients: number;
  seconds: number;
  cycles: number;
  cyclesPerSec: number;
  /** Acquires that found the key held (a random-key collision) or errors; not counted as cycles. */
  failures: number;
}

const KEYSPACE = 1_000_000;
const TTL_MS = 30_000;
const COMPARE_AND_DELETE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** One worker's lock operations on its own connection: true when acquired / released. */
export interface LockOps {
  acquire(key: string, owner: string): Promise<boolean>;
  release(key: string, owner: string): Promise<boolean>;
}

export interface Driver {
  /** One per worker. */
  workers: LockOps[];
  close(): Promise<void>;
}

/** The same acquire/release for every workload: ioredis for Redis-protocol targets, etcd3 for etcd. */
export function openDriver(target: Target, clients: number): Promise<Driver> {
  return target.kind === 'etcd' ? etcdDriver(target, clients) : redisDriver(target, clients);
}

async function redisDriver(target: Target, clients: number): Promise<Driver> {
  const conns: Redis[] = [];
  for (let i = 0; i < clients; i++) {
    const conn = new Redis({ host: target.host, port: target.port, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    conn.on('error', () => undefined);
    conn.defineCommand('compareAndDelete', { numberOfKeys: 1, lua: COMPARE_AND_DELETE });
    conns.push(conn);
  }
  await Promise.all(conns.map((c) => c.ping()));
  const workers = conns.map((conn): LockOps => {
    if (target.kind === 'quorumlock') {
      return {
        acquire: async (key, owner) => (await conn.call('LOCK', key, owner, String(TTL_MS))) !== null,
        release: async (key, owner) => (await conn.call('UNLOCK', key, owner)) === 1,
      };
    }
    const cad = (conn as unknown as { compareAndDelete(k: string, v: string): Promise<number> }).compareAndDelete.bind(conn);
    return {
      acquire: async (key, owner) => (await conn.set(key, owner, 'PX', TTL_MS, 'NX')) === 'OK',
      release: async (key, owner) => (await cad(key, owner)) === 1,
    };
  });
  return { workers, close: async () => conns.forEach((c) => c.disconnect()) };
}

async function etcdDriver(target: Target, clients: number): Promise<Driver> {
  const channels: Etcd3[] = [];
  for (let i = 0; i < Math.ceil(clients / 25); i++) channels.push(new Etcd3({ hosts: `http://${target.host}:${target.port}` }));
  const leases: Lease[] = [];
  const workers: LockOps[] = [];
  for (let i = 0; i < clients; i++) {
    const client = channels[i % channels.length];
    const lease = client.lease(TTL_MS / 1000);
    lease.on('lost', () => undefined);
    leases.push(lease);
    const leaseId = await lease.grant();
    workers.push({
      acquire: async (key, owner) => (await client.if(key, 'Create', '==', 0).then(client.put(key).value(owner).lease(leaseId)).commit()).succeeded,
      release: async (key) => {
        await client.delete().key(key);
        return true;
      },
    });
  }
  return {
    workers,
    close: async () => {
      await Promise.all(leases.map((l) => l.revoke().catch(() => undefined)));
      channels.forEach((c) => c.close());
    },
  };
}

export async function runLockCycle(target: Target, clients: number, seconds: number): Promise<LockCycleResult> {
  const driver = await openDriver(target, clients);
  const samples: number[] = [];
  let failures = 0;
  let stop = false;
  // A short warm-up so connection setup and JIT do not land in the measured window.
  const warmupMs = Math.min(1000, seconds * 200);
  let measuring = false;
  const worker = async (ops: LockOps, w: number): Promise<void> => {
    const owner = `owner-${process.pid}-${w}`;
    while (!stop) {
      const key = `lock:${Math.floor(Math.random() * KEYSPACE)}`;
      const start = process.hrtime.bigint();
      try {
        const ok = (await ops.acquire(key, owner)) && (await ops.release(key, owner));
        if (!ok) failures++;
        else if (measuring) samples.push(Number(process.hrtime.bigint() - start) / 1e6);
      } catch {
        failures++;
      }
    }
  };
  const running = driver.workers.map((ops, w) => worker(ops, w));
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  failures = 0;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsedSec = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  await Promise.all(running);
  await driver.close();
  return {
    target: target.name,
    workload: 'lock_cycle',
    clients,
    seconds: elapsedSec,
    cycles: samples.length,
    cyclesPerSec: samples.length / elapsedSec,
    failures,
    ...percentiles(samples),
  };
}
