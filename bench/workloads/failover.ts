// Workload 4: failover under load. A few clients run lock cycles against the cluster, following
// the leader the way an application would; the leader is killed with SIGKILL; the time from the
// kill to the first acknowledged write on the new leader is measured; the killed node is started
// again on its data dir and waited on until it has caught up; repeat `runs` times.
//
// Two writers race to see the new leader, and the headline figure is whichever is first:
//   - the load clients (their first acknowledged write *sent after* the kill):
//       quorumlock: ioredis in Sentinel mode (every node is a sentinel naming the Raft leader),
//                   LOCK k owner 30000 + UNLOCK k owner on random keys;
//       etcd:       one etcd3 client with all three endpoints (its default retry policy), the
//                   create-revision transaction put + delete on random keys (no lease: a lease's
//                   keep-alive stream lost with the killed member would fail every later acquire
//                   and measure the client library, not the cluster);
//   - a probe that starts a write through every surviving node every 10 ms, each with a 300 ms
//     deadline, without waiting for the earlier ones (fresh RESP connections for quorumlock, whose followers forward writes to the leader; pinned
//     etcd clients with no retries for etcd, whose followers forward proposals too).
// Both are reported. Times are process.hrtime-based (ms), from just before the SIGKILL.

import Redis from 'ioredis';
import { Etcd3 } from 'etcd3';
import { command, RespError } from '../../test/helpers/cluster';
import { waitFor } from '../../test/helpers/net';
import { pinnedEtcdClient } from '../targets/etcd';
import type { Target } from '../targets/target';
import { setTimeout as sleep } from 'node:timers/promises';
import { nowMs } from './stats';

export interface FailoverRun {
  killed: string;
  newLeader: string;
  /** Kill -> first acknowledged write from either writer (ms). */
  firstAckMs: number;
  /** Kill -> first acknowledgement of a load-client write sent after the kill (ms). */
  loadAckMs: number;
  /** Kill -> first acknowledged probe write through a survivor (ms). */
  probeAckMs: number;
  /** Restart of the killed node -> it has applied the leader's commit index (ms). */
  catchUpMs: number;
  /** For a run slower than SLOW_FAILOVER_MS: the nodes' last log lines once the new leader was known. */
  nodeLog?: string;
}

export interface FailoverResult {
  target: string;
  workload: 'failover';
  loadClients: number;
  runs: FailoverRun[];
  medianMs: number;
  maxMs: number;
  minMs: number;
  loadMedianMs: number;
  loadMaxMs: number;
  probeMedianMs: number;
  probeMaxMs: number;
  /** Load-client operations that failed (errors, timeouts) across all runs. */
  loadErrors: number;
}

const KEYSPACE = 1_000_000;
const ACK_WAIT_MS = 30_000;
/**
 * A failover slower than this missed quorumlock's fast path (a survivor campaigns within
 * --fast-failover-ms, 100, of the leader's port refusing it: 60-240 ms here) and waited out an
 * election timeout. The nodes' log tails (role changes, campaigns, with timestamps) are kept in
 * the run's JSON so that such a kill can be read afterwards.
 */
const SLOW_FAILOVER_MS = 500;
const SLOW_FAILOVER_LOG_LINES = 40;

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Lock cycles from `clients` workers, remembering when each acknowledged write was sent. */
class Load {
  private stopped = false;
  private running: Promise<void>[] = [];
  /** Send time of the latest acknowledged write, and of the first one acknowledged after `mark`. */
  lastAckAtMs = 0;
  private mark = Infinity;
  private firstAfterMark: number | null = null;
  errors = 0;

  constructor(private readonly cycle: (worker: number, key: string) => Promise<void>) {}

  start(workers: number): void {
    this.running = Array.from({ length: workers }, (_, w) => this.loop(w));
  }

  private async loop(w: number): Promise<void> {
    while (!this.stopped) {
      const key = `failover:${Math.floor(Math.random() * KEYSPACE)}`;
      const sentAtMs = nowMs();
      try {
        await this.cycle(w, key);
        const ackAtMs = nowMs();
        this.lastAckAtMs = ackAtMs;
        if (sentAtMs >= this.mark && this.firstAfterMark === null) this.firstAfterMark = ackAtMs;
      } catch {
        this.errors++;
        await sleep(10);
      }
    }
  }

  /** From now on, remember the first acknowledgement of a write sent after `atMs`. */
  watchFrom(atMs: number): void {
    this.mark = atMs;
    this.firstAfterMark = null;
  }

  firstAckAfterMark(): number | null {
    return this.firstAfterMark;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }
}

interface Writers {
  load: Load;
  /** One probe write through node `port`; resolves when acknowledged, rejects otherwise. */
  probe(port: number, attempt: number): Promise<void>;
  close(): Promise<void>;
}

function quorumlockWriters(target: Target, clients: number): Writers {
  const sentinels = target.nodes.ids.map((id) => ({ host: '127.0.0.1', port: target.nodes.port(id) }));
  const conns = Array.from({ length: clients }, () => {
    const c = new Redis({
      sentinels,
      name: 'quorumlock',
      sentinelRetryStrategy: () => 20,
      retryStrategy: () => 20,
      maxRetriesPerRequest: null,
      commandTimeout: 2000,
      connectTimeout: 500,
    });
    c.on('error', () => undefined);
    return c;
  });
  const load = new Load(async (w, key) => {
    const owner = `failover-${process.pid}-${w}`;
    if ((await conns[w].call('LOCK', key, owner, '30000')) === null) throw new Error(`${key} was held`);
    await conns[w].call('UNLOCK', key, owner);
  });
  return {
    load,
    probe: async (port, attempt) => {
      const reply = await command(port, ['LOCK', `failover:probe:${attempt}`, `probe-${process.pid}`, 30_000], 300);
      if (reply instanceof RespError || reply === null) throw new Error(String(reply));
    },
    close: async () => {
      await load.stop();
      conns.forEach((c) => c.disconnect());
    },
  };
}

function etcdWriters(target: Target, clients: number): Writers {
  const hosts = target.nodes.ids.map((id) => `http://127.0.0.1:${target.nodes.port(id)}`);
  const client = new Etcd3({ hosts, defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 2000 }) });
  const pinned = new Map(target.nodes.ids.map((id) => [target.nodes.port(id), pinnedEtcdClient(target.nodes.port(id), 300)]));
  const load = new Load(async (w, key) => {
    const owner = `failover-${process.pid}-${w}`;
    const r = await client.if(key, 'Create', '==', 0).then(client.put(key).value(owner)).commit();
    if (!r.succeeded) throw new Error(`${key} was held`);
    await client.delete().key(key);
  });
  return {
    load,
    probe: async (port, attempt) => {
      await pinned.get(port)!.put(`failover:probe:${attempt}`).value('p');
    },
    close: async () => {
      await load.stop();
      client.close();
      for (const c of pinned.values()) c.close();
    },
  };
}

/**
 * Starts a probe write through every port every 10 ms (without waiting for earlier attempts: an
 * etcd follower with no leader holds a proposal until its deadline, which would otherwise quantize
 * the figure to the 300 ms deadline) until one is acknowledged; the ack time, or null at the deadline.
 */
async function probeUntilAck(writers: Writers, ports: number[], deadlineMs: number): Promise<number | null> {
  let firstAckMs: number | null = null;
  const inFlight = new Set<Promise<void>>();
  for (let attempt = 0; firstAckMs === null && nowMs() < deadlineMs; attempt++) {
    for (const port of ports) {
      if (inFlight.size >= 128) break;
      const p: Promise<void> = writers.probe(port, attempt).then(
        () => {
          const at = nowMs();
          if (firstAckMs === null || at < firstAckMs) firstAckMs = at;
        },
        () => undefined,
      ).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await sleep(10);
  }
  await Promise.all(inFlight);
  return firstAckMs;
}

export async function runFailover(target: Target, options: { runs: number; clients: number; log?: (line: string) => void }): Promise<FailoverResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const writers = target.kind === 'etcd' ? etcdWriters(target, options.clients) : quorumlockWriters(target, options.clients);
  const runs: FailoverRun[] = [];
  try {
    writers.load.start(options.clients);
    for (let round = 0; round < options.runs; round++) {
      await waitFor('load writes flowing', () => nowMs() - writers.load.lastAckAtMs < 200, 30_000, 20);
      const killed = await target.nodes.leader();
      const survivors = target.nodes.ids.filter((id) => id !== killed && target.nodes.isRunning(id));
      const killedAtMs = nowMs();
      writers.load.watchFrom(killedAtMs);
      await target.nodes.signal(killed, 'SIGKILL');
      const probeAt = await probeUntilAck(writers, survivors.map((id) => target.nodes.port(id)), killedAtMs + ACK_WAIT_MS);
      const loadAt = await waitFor('a load write sent after the kill to be acknowledged', () => writers.load.firstAckAfterMark(), ACK_WAIT_MS, 5).catch(() => null);
      const newLeader = await target.nodes.leader(ACK_WAIT_MS);
      const firstAt = Math.min(loadAt ?? Infinity, probeAt ?? Infinity);
      // Taken before the restart, whose start-up lines would push the failover's out of the tail.
      const nodeLog = firstAt - killedAtMs > SLOW_FAILOVER_MS ? target.nodes.logTail?.(SLOW_FAILOVER_LOG_LINES) : undefined;
      const restartedAtMs = nowMs();
      await target.nodes.start(killed);
      await target.nodes.caughtUp(killed, 60_000);
      const run: FailoverRun = {
        killed,
        newLeader,
        loadAckMs: loadAt === null ? NaN : loadAt - killedAtMs,
        probeAckMs: probeAt === null ? NaN : probeAt - killedAtMs,
        firstAckMs: firstAt - killedAtMs,
        catchUpMs: nowMs() - restartedAtMs,
        ...(nodeLog === undefined ? {} : { nodeLog }),
      };
      if (!Number.isFinite(run.firstAckMs)) run.firstAckMs = NaN;
      runs.push(run);
      log(`  failover ${round + 1}/${options.runs}: killed ${killed}, new leader ${newLeader}: first ack ${run.firstAckMs.toFixed(0)} ms (load ${run.loadAckMs.toFixed(0)}, probe ${run.probeAckMs.toFixed(0)}); ${killed} caught up ${run.catchUpMs.toFixed(0)} ms after its restart${nodeLog === undefined ? '' : ' (slow: the nodes\' log tails are in the JSON, runs[].nodeLog)'}`);
    }
  } finally {
    await writers.close();
  }
  // A run with no acknowledged write within 30 s counts as 30 s in the max (NaN would hide it).
  const first = runs.map((r) => (Number.isNaN(r.firstAckMs) ? ACK_WAIT_MS : r.firstAckMs));
  const loadMs = runs.map((r) => (Number.isNaN(r.loadAckMs) ? ACK_WAIT_MS : r.loadAckMs));
  const probeMs = runs.map((r) => (Number.isNaN(r.probeAckMs) ? ACK_WAIT_MS : r.probeAckMs));
  return {
    target: target.name,
    workload: 'failover',
    loadClients: options.clients,
    runs,
    medianMs: median(first),
    maxMs: Math.max(...first),
    minMs: Math.min(...first),
    loadMedianMs: median(loadMs),
    loadMaxMs: Math.max(...loadMs),
    probeMedianMs: median(probeMs),
    probeMaxMs: Math.max(...probeMs),
    loadErrors: writers.load.errors,
  };
}
