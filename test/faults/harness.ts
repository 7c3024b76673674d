// One fault run, start to verdict: starts 5 real nodes with a fault proxy on every directed Raft
// link, runs the three workloads from >= 20 ioredis clients (Sentinel, Cluster and plain, spread
// over every node) while the nemesis (or a fixed scenario) injects faults, heals everything,
// waits for convergence, then checks:
//   - every register key's history is linearizable (WGL search, unknown outcomes as Jepsen);
//   - the lock was never held by two at once and its tokens only grew;
//   - every acknowledged unique write is on every node, and no definitely failed one is anywhere;
//   - every node holds the same keys and values.
// It writes the history (JSON lines), an SVG chart and a summary next to each other, and on a
// failure prints the seed, the history file and the smallest window that shows each anomaly.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cluster } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';
import { renderChart } from './chart';
import { createClient, type ClientKind, type FaultClient } from './clients';
import { describeOp, History, type Op } from './history';
import { checkRegister, minimalWindow, toRegisterOps } from './linearizability';
import { checkLocks } from './lock_checker';
import { Nemesis, type FaultKind } from './nemesis';
import { Prng } from './prng';
import { LockWorkload, RegisterWorkload, UniqueWorkload, Workers } from './workloads';

export interface FaultRunOptions {
  readonly seed: number;
  /** How long the clients run under faults, ms (healing and checking come after). */
  readonly durationMs: number;
  /** Where the history, chart and summary are written. */
  readonly outDir: string;
  readonly clients?: number;
  /** Start every node with --test-unsafe-local-reads (a deliberate bug). */
  readonly unsafeLocalReads?: boolean;
  /** Let ioredis's Cluster clients send READONLY to followers, as it does by default (see clients.ts). */
  readonly clusterReadonly?: boolean;
  /** Fault kinds for the nemesis (default: all). */
  readonly kinds?: readonly FaultKind[];
  readonly holdMs?: [number, number];
  readonly restMs?: [number, number];
  /** Instead of the nemesis: a fixed fault script. */
  readonly scenario?: (ctx: ScenarioContext) => Promise<void>;
  readonly log?: (line: string) => void;
}

export interface ScenarioContext {
  readonly cluster: Cluster;
  readonly clients: ReadonlyArray<FaultClient & { workload: string }>;
  readonly history: History;
  readonly durationMs: number;
}

export interface Anomaly {
  readonly checker: string;
  readonly message: string;
  /** The smallest window of operations that shows it, one op a line. */
  readonly window: string[];
}

export interface FaultRunResult {
  readonly seed: number;
  readonly valid: boolean;
  readonly anomalies: Anomaly[];
  readonly nemesisErrors: string[];
  readonly historyFile: string;
  readonly chartFile: string;
  readonly summaryFile: string;
  readonly summary: Record<string, unknown>;
}

interface TeardownStub {
  teardown(fn: () => unknown): void;
  passing(): boolean;
  comment(...args: unknown[]): void;
}

const workloadOf = ['register', 'lock', 'unique'] as const;
const kindOf: readonly ClientKind[] = ['sentinel', 'cluster', 'plain'];

export async function runFaults(options: FaultRunOptions): Promise<FaultRunResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const prng = new Prng(options.seed);
  log(`fault run: FAULTS_SEED=${options.seed}, ${Math.round(options.durationMs / 1000)} s of load${options.unsafeLocalReads ? ', nodes with --test-unsafe-local-reads' : ''}`);
  fs.mkdirSync(options.outDir, { recursive: true });
  const teardowns: Array<() => unknown> = [];
  let passing = true;
  const stub: TeardownStub = { teardown: (fn) => teardowns.push(fn), passing: () => passing, comment: (...args) => log(args.join(' ')) };
  const history = new History();
  let nemesis: Nemesis | null = null;
  const clients: Array<FaultClient & { workload: string }> = [];
  try {
    const cluster = await Cluster.start(stub, {
      nodes: 5,
      proxies: true,
      tickMs: 50,
      electionTicks: 10,
      nodeArgs: () => ['--snapshot-entries', '2000', ...(options.unsafeLocalReads ? ['--test-unsafe-local-reads'] : [])],
    });
    const nodeIds = [...cluster.nodes.keys()];
    const ports = nodeIds.map((id) => cluster.node(id).port);
    log(`cluster: ${nodeIds.map((id) => `${id}=127.0.0.1:${cluster.node(id).port}`).join(' ')}`);

    const register = new RegisterWorkload(history, 3, 150);
    const locks = new LockWorkload(history, ['lock:a', 'lock:b'], 1500);
    const unique = new UniqueWorkload(history);
    const workers = new Workers();
    const clientCount = options.clients ?? 24;
    for (let i = 0; i < clientCount; i++) {
      const workload = workloadOf[i % 3];
      const client = createClient(i, kindOf[Math.floor(i / 3) % 3], ports, nodeIds, 3000, options.clusterReadonly);
      clients.push({ ...client, workload });
      const clientPrng = prng.fork(1000 + i);
      if (workload === 'register') register.start(workers, client, clientPrng, [0, 10]);
      else if (workload === 'lock') locks.start(workers, client, clientPrng, [0, 10]);
      else unique.start(workers, client, clientPrng, [5, 20]);
    }
    log(`clients: ${clients.map((c) => `c${c.index}:${c.workload}/${c.via}`).join(' ')}`);

    const loadEndMs = history.now() + options.durationMs;
    // Set when the cluster does not come back together at the end: a liveness failure, reported
    // as such, with everything recorded so far still checked and written.
    let endError: string | null = null;
    const lateApplies: string[] = [];
    if (options.scenario) {
      await options.scenario({ cluster, clients, history, durationMs: options.durationMs });
    } else {
      nemesis = new Nemesis(cluster, history, prng.fork(1), { holdMs: options.holdMs ?? [2000, 8000], restMs: options.restMs ?? [1000, 4000], clockOffsetMsMax: 4000, negativeClockOffsets: process.env.FAULTS_NEGATIVE_CLOCK !== '0', kinds: options.kinds }, log);
      await nemesis.run(loadEndMs);
      log('nemesis: healing everything');
      const heal = history.fault('heal', 'all faults undone, waiting for 5 voters');
      await nemesis.healAll().catch((error: Error) => (endError = `healing did not finish: ${error.message}`));
      history.endFault(heal);
    }
    // Let the load run on a healed cluster for a moment: it must serve again.
    const healedAtMs = history.now();
    await waitFor('writes acknowledged after healing', () => history.ops.some((op) => op.outcome === 'ok' && op.f !== 'read' && op.invokeMs > healedAtMs), 30_000, 100).catch(
      (error: Error) => log(`after healing: ${error.message}`),
    );
    await new Promise((r) => setTimeout(r, 2000));
    await workers.stop();
    for (const c of clients) c.close();
    log(`load stopped at ${history.now()} ms: ${history.ops.length} ops`);

    try {
      await cluster.leader(nodeIds, 30_000, true);
      await cluster.converged(nodeIds, 60_000);
      // A forwarded write still in flight is refused once older than half the forward timeout:
      // give it a moment, check again, then read every node's state.
      await new Promise((r) => setTimeout(r, 1000));
      await cluster.converged(nodeIds, 60_000);
    } catch (error) {
      endError ??= `the cluster did not converge after healing: ${(error as Error).message}`;
    }
    // Read every node's state, then make sure nothing was applied meanwhile: a write the cluster
    // still held (a client gave up on it long ago) may be applied late, and views read on either
    // side of it would differ without the replicas diverging.
    const views = new Map<string, Map<string, string | null>>();
    const appliedIndexes = async (): Promise<string> =>
      (await Promise.all(nodeIds.map(async (id) => (await cluster.info(id)).raft_applied_index))).join(',');
    for (let attempt = 0; attempt < 5 && endError === null; attempt++) {
      try {
        const before = await appliedIndexes();
        for (const id of nodeIds) views.set(id, await cluster.localValues(id));
        const after = await appliedIndexes();
        if (before === after) break;
        lateApplies.push(`${history.now()} ms: applied indexes moved from ${before} to ${after} while the final states were read`);
        log(`late writes: ${lateApplies[lateApplies.length - 1]}; reading again`);
        await cluster.converged(nodeIds, 60_000);
      } catch (error) {
        endError = `the nodes do not serve their state after healing: ${(error as Error).message}`;
      }
    }
    if (endError) log(`LIVENESS: ${endError}\n${cluster.logTail(15)}`);
    const result = check(history, views, locks, nemesis, options, log, endError, lateApplies);
    passing = result.valid;
    return result;
  } catch (error) {
    passing = false;
    throw error;
  } finally {
    for (const c of clients) c.close();
    await nemesis?.close();
    for (const fn of teardowns.reverse()) await fn();
  }
}

function check(
  history: History,
  views: Map<string, Map<string, string | null>>,
  locks: LockWorkload,
  nemesis: Nemesis | null,
  options: FaultRunOptions,
  log: (line: string) => void,
  endError: string | null,
  lateApplies: string[],
): FaultRunResult {
  const anomalies: Anomaly[] = [];
  if (endError) anomalies.push({ checker: 'liveness', message: endError, window: [] });
  // Without convergence, final states prove nothing: checks that need them are skipped.
  const converged = endError === null;
  const nodeIds = converged ? [...views.keys()] : [];
  const reference = converged ? views.get(nodeIds[0])! : new Map<string, string | null>();

  // Replicas agree.
  for (const id of nodeIds.slice(1)) {
    const view = views.get(id)!;
    const differ: string[] = [];
    for (const key of new Set([...reference.keys(), ...view.keys()])) {
      if (reference.get(key) !== view.get(key)) differ.push(`${key}: ${nodeIds[0]}=${JSON.stringify(reference.get(key))} ${id}=${JSON.stringify(view.get(key))}`);
    }
    if (differ.length > 0) anomalies.push({ checker: 'replicas', message: `${id} and ${nodeIds[0]} differ on ${differ.length} keys`, window: differ.slice(0, 20) });
  }

  // Registers: one final read per key (after convergence, nothing in flight), then the search.
  const byKey = new Map<string, Op[]>();
  for (const op of history.ops) {
    if (op.workload !== 'register') continue;
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  let inconclusive = 0;
  let steps = 0;
  for (const [key, ops] of byKey) {
    const all = [...ops];
    if (converged) {
      const final = history.invoke({ workload: 'final', client: -1, via: `local:${nodeIds[0]}`, f: 'read', key, value: null });
      history.complete(final, 'ok', { value: reference.get(key) ?? null });
      all.push(final);
    }
    const registerOps = toRegisterOps(all);
    const verdict = checkRegister(registerOps);
    steps += verdict.steps;
    if (verdict.valid === 'unknown') {
      inconclusive++;
      log(`register ${key}: inconclusive (${verdict.reason})`);
    } else if (verdict.valid === false) {
      const window = minimalWindow(registerOps);
      const byId = new Map(all.map((op) => [op.id, op]));
      anomalies.push({
        checker: 'linearizability',
        message: `register ${key} is not linearizable (${ops.length} ops); smallest window ${window.a}..${window.b} ms, ${window.ids.length} ops`,
        window: window.ids.map((id) => describeOp(byId.get(id)!)),
      });
    }
  }

  // Locks.
  const skews = (nemesis?.skews ?? []).map((s) => ({ startMs: s.startMs, endMs: s.endMs === Infinity ? history.now() : s.endMs, offsetMs: s.offsetMs }));
  const lockViolations = checkLocks(locks.acquisitions, skews);
  for (const v of lockViolations.slice(0, 20)) anomalies.push({ checker: 'lock', message: v, window: [] });
  if (lockViolations.length > 20) anomalies.push({ checker: 'lock', message: `... and ${lockViolations.length - 20} more lock violations`, window: [] });
  for (const odd of locks.oddities) anomalies.push({ checker: 'lock', message: odd, window: [] });

  // Unique writes.
  const uniqueOps = history.ops.filter((op) => op.workload === 'unique');
  const acked = uniqueOps.filter((op) => op.outcome === 'ok');
  const failed = uniqueOps.filter((op) => op.outcome === 'fail');
  for (const id of nodeIds) {
    const view = views.get(id)!;
    const lost = acked.filter((op) => view.get(op.key) !== op.value);
    if (lost.length > 0) anomalies.push({ checker: 'unique', message: `${id} lacks ${lost.length} of ${acked.length} acknowledged writes`, window: lost.slice(0, 20).map(describeOp) });
    const ghosts = failed.filter((op) => view.has(op.key));
    if (ghosts.length > 0) anomalies.push({ checker: 'unique', message: `${id} has ${ghosts.length} writes that were answered as not executed`, window: ghosts.slice(0, 20).map(describeOp) });
  }
  const uniqueUnknownPresent = uniqueOps.filter((op) => op.outcome === 'unknown' && reference.has(op.key)).length;

  // Figures.
  const opsByType: Record<string, Record<string, number>> = {};
  for (const op of history.ops) {
    const type = `${op.workload}:${op.f}`;
    opsByType[type] ??= { ok: 0, fail: 0, unknown: 0 };
    opsByType[type][op.outcome]++;
  }
  const faultsByKind: Record<string, { count: number; totalMs: number }> = {};
  for (const f of history.faults) {
    faultsByKind[f.kind] ??= { count: 0, totalMs: 0 };
    faultsByKind[f.kind].count++;
    faultsByKind[f.kind].totalMs += Math.max(0, f.endMs - f.startMs);
  }
  const unavailability = unavailabilityWindows(history);
  const stuck = stuckClients(history);
  const registers = [...locks.registers.values()];
  const summary: Record<string, unknown> = {
    seed: options.seed,
    durationMs: options.durationMs,
    unsafeLocalReads: options.unsafeLocalReads ?? false,
    clusterReadonly: options.clusterReadonly ?? false,
    totalOps: history.ops.length,
    opsByType,
    faultsByKind,
    faults: history.faults,
    nemesisErrors: nemesis?.errors ?? [],
    endError,
    lateApplies,
    registerKeys: byKey.size,
    registerSearchSteps: steps,
    registerInconclusiveKeys: inconclusive,
    lockAcquisitions: locks.acquisitions.length,
    fencedWritesAccepted: registers.reduce((n, r) => n + r.accepted, 0),
    fencedWritesRefused: registers.reduce((n, r) => n + r.refused, 0),
    uniqueAcked: acked.length,
    uniqueFailed: failed.length,
    uniqueUnknown: uniqueOps.filter((op) => op.outcome === 'unknown').length,
    uniqueUnknownPresent,
    keysAtEnd: reference.size,
    longestUnavailabilityMs: unavailability[0]?.gapMs ?? 0,
    unavailability: unavailability.slice(0, 5),
    stuckClients: stuck,
    anomalies,
  };
  const valid = anomalies.length === 0;
  const historyFile = path.join(options.outDir, 'history.jsonl');
  const chartFile = path.join(options.outDir, 'chart.svg');
  const summaryFile = path.join(options.outDir, 'summary.json');
  history.write(historyFile, { seed: options.seed, durationMs: options.durationMs, unsafeLocalReads: options.unsafeLocalReads ?? false });
  fs.writeFileSync(
    chartFile,
    renderChart(history.ops.filter((op) => op.workload !== 'final'), history.faults, `quorumlock fault run, seed ${options.seed}: ${history.ops.length} ops, ${history.faults.length} faults, ${valid ? 'valid' : `${anomalies.length} anomalies`}`),
  );
  fs.writeFileSync(summaryFile, JSON.stringify(summary, null, 2) + '\n');
  log(`ops: ${Object.entries(opsByType).map(([type, n]) => `${type} ${n.ok}/${n.fail}/${n.unknown}`).join(', ')} (ok/fail/unknown)`);
  log(`faults: ${Object.entries(faultsByKind).map(([kind, f]) => `${kind} x${f.count}`).join(', ') || 'none'}`);
  log(`longest time without a successful write: ${summary.longestUnavailabilityMs} ms`);
  if (stuck.length > 0) log(`clients that got no reply for a long time (10+ timeouts in a row): ${stuck.slice(0, 8).map((s) => `c${s.client} ${s.via}->${s.node} ${s.fromMs}..${s.toMs} ms (${s.ops} ops)`).join('; ')}`);
  if (nemesis && nemesis.errors.length > 0) log(`nemesis errors: ${nemesis.errors.join('; ')}`);
  if (valid) {
    log(`valid: ${byKey.size} register keys linearizable${inconclusive ? ` (${inconclusive} inconclusive)` : ''}, ${locks.acquisitions.length} lock holds without overlap, ${acked.length} acknowledged writes all present`);
  } else {
    log(`ANOMALIES (${anomalies.length}) in FAULTS_SEED=${options.seed}; history: ${historyFile}`);
    for (const a of anomalies.slice(0, 10)) {
      log(`  [${a.checker}] ${a.message}`);
      for (const line of a.window.slice(0, 30)) log(`      ${line}`);
    }
  }
  log(`chart: ${chartFile}`);
  return { seed: options.seed, valid, anomalies, nemesisErrors: nemesis?.errors ?? [], historyFile, chartFile, summaryFile, summary };
}

/** Gaps between successful writes (any workload), longest first, with the faults around them. */
export function unavailabilityWindows(history: History): Array<{ fromMs: number; toMs: number; gapMs: number; faults: string[] }> {
  const writes = history.ops
    .filter((op) => op.outcome === 'ok' && op.workload !== 'final' && (op.f === 'write' || op.f === 'set' || op.f === 'cad' || (op.f === 'lock' && op.result !== null)))
    .map((op) => op.completeMs)
    .sort((a, b) => a - b);
  const gaps: Array<{ fromMs: number; toMs: number; gapMs: number; faults: string[] }> = [];
  for (let i = 1; i < writes.length; i++) {
    const gapMs = writes[i] - writes[i - 1];
    if (gapMs < 200) continue;
    const faults = history.faults.filter((f) => f.startMs <= writes[i] && (f.endMs < 0 || f.endMs >= writes[i - 1])).map((f) => `${f.kind} ${f.detail}`);
    gaps.push({ fromMs: writes[i - 1], toMs: writes[i], gapMs, faults });
  }
  return gaps.sort((a, b) => b.gapMs - a.gapMs).slice(0, 20);
}

/**
 * Runs of 10 or more timeouts in a row on one client: a connection that got no reply for a long
 * time while others were served (a liveness problem the other checks do not fail on).
 */
export function stuckClients(history: History): Array<{ client: number; via: string; node: string; fromMs: number; toMs: number; ops: number }> {
  const byClient = new Map<number, Op[]>();
  for (const op of history.ops) {
    if (op.client < 0) continue;
    const list = byClient.get(op.client) ?? [];
    list.push(op);
    byClient.set(op.client, list);
  }
  const out: Array<{ client: number; via: string; node: string; fromMs: number; toMs: number; ops: number }> = [];
  for (const [client, ops] of byClient) {
    let run: Op[] = [];
    const flush = (): void => {
      if (run.length >= 10) out.push({ client, via: run[0].via, node: run[0].node ?? '?', fromMs: run[0].invokeMs, toMs: run[run.length - 1].completeMs, ops: run.length });
      run = [];
    };
    for (const op of ops) {
      // Timed out (no reply), as opposed to failing fast while a node restarts.
      if (op.outcome === 'unknown' && op.completeMs - op.invokeMs >= 1000) run.push(op);
      else flush();
    }
    flush();
  }
  return out.sort((a, b) => b.toMs - b.fromMs - (a.toMs - a.fromMs));
}
