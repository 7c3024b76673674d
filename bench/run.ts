// The side-by-side benchmark (issue 6): starts each target in turn on loopback (redis with no
// persistence, redis with appendfsync always, a 3-node etcd cluster, a 3-node quorumlock cluster),
// runs every workload the target can run with the same load generator, stops it, and writes
// bench/results/<date>.{json,md,svg}. One target at a time, so they never compete for the 2 cores.
//
// Workloads 1-4 run on one instance of each target; workload 5 (memory and restart) gets a fresh
// instance of each durable target (redis with AOF, etcd, quorumlock), so what earlier workloads
// left in the heap does not count as memory per lock.
//
// The two ratio targets (lock cycles at 50 clients against etcd and against redis with
// appendfsync always) are judged on paired rounds: after the per-target pass, the three durable
// targets run side by side (idle but for the one measured) and take turns at 50 clients, in a
// rotating order, round after round. This machine's speed drifts by 15-40% over minutes (one
// target's figure moved from 5.9k to 9.8k cycles/s within an hour), and the per-target pass
// measures etcd and quorumlock several minutes apart, so a ratio of those two figures measures the
// drift as much as the targets. A round's figures are taken within half a minute of each other;
// the check uses the median of the rounds' ratios, and the report lists every round. Each target
// gets one unrecorded 3 s turn before the first round (warm-up, as the per-target pass gets from
// its 1- and 10-client runs). A fourth cluster takes turns in the rounds as a reference, not a
// target: quorumlock whose nodes never sync their logs (--test-unsafe-no-fsync), which shows what
// the disk costs and how far quorumlock's CPU alone would let it go against Redis on this machine.
//
// Run: npm run bench [-- --quick]   (quick: 1 and 50 clients, 3 s each, 3 failovers, 100k locks,
// one paired round; under 3 minutes)

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEtcd } from './targets/etcd';
import { startQuorumlock } from './targets/quorumlock';
import { startRedis } from './targets/redis';
import type { Target } from './targets/target';
import { runLockCycle, type LockCycleResult } from './workloads/lock_cycle';
import { runContended, type ContendedResult } from './workloads/contended';
import { runRedisBenchmark, type RedisBenchmarkResult } from './workloads/redis_benchmark';
import { median, runFailover, type FailoverResult } from './workloads/failover';
import { runMemory, type MemoryResult } from './workloads/memory';
import { QUORUMLOCK_ELECTION_TICKS, QUORUMLOCK_NO_FSYNC, QUORUMLOCK_TICK_MS, startQuorumlockNoFsync } from './targets/quorumlock';

const quick = process.argv.includes('--quick');
/** `--targets a,b` and `--workloads cycle,set,contended,failover,memory,paired` narrow a run (for iterating on one figure). */
const targetFilter = listFlag('--targets');
const workloadFilter = listFlag('--workloads');
const runs = (workload: string): boolean => workloadFilter === null || workloadFilter.includes(workload);

function listFlag(name: string): string[] | null {
  const at = process.argv.indexOf(name);
  return at === -1 ? null : (process.argv[at + 1] ?? '').split(',');
}
const resultsDir = path.resolve(__dirname, '..', '..', 'bench', 'results');

interface Plan {
  clientLevels: number[];
  seconds: number;
  benchmarkRequests: { plain: number; pipelined: number };
  /** Workload 4: leader kills per cluster, and the clients running lock cycles meanwhile. */
  failoverRuns: number;
  failoverClients: number;
  /** Workload 5: locks held; etcd gets fewer (its load goes at ~2,400 txn/s from one Node client here). */
  memoryLocks: number;
  /** How long to watch RSS fall while idle after the memory load (0: not measured). */
  memoryIdleSeconds: number;
  etcdMemoryLocks: number;
  quorumlockTiming: string;
  /** Paired rounds of lock cycles at 50 clients (see the top of this file). */
  pairedRounds: number;
}

/** The reference in the paired rounds: quorumlock with its logs never synced (unsafe; not a target). */
const NO_FSYNC = QUORUMLOCK_NO_FSYNC;
/** Targets that take part in the paired rounds, the one judged last. */
const PAIRED_TARGETS = ['redis-aof-always', 'etcd', NO_FSYNC, 'quorumlock'];
const PAIRED_CLIENTS = 50;

interface PairedRound {
  round: number;
  /** In the order they ran this round. */
  results: LockCycleResult[];
}

const plan: Plan = quick
  ? { clientLevels: [1, 50], seconds: 3, benchmarkRequests: { plain: 10_000, pipelined: 30_000 }, failoverRuns: 3, failoverClients: 4, memoryLocks: 100_000, memoryIdleSeconds: 0, etcdMemoryLocks: 20_000, quorumlockTiming: '', pairedRounds: 1 }
  : { clientLevels: [1, 10, 50, 200], seconds: 10, benchmarkRequests: { plain: 100_000, pipelined: 300_000 }, failoverRuns: 10, failoverClients: 4, memoryLocks: 1_000_000, memoryIdleSeconds: 60, etcdMemoryLocks: 200_000, quorumlockTiming: '', pairedRounds: 3 };
plan.quorumlockTiming = `tick ${QUORUMLOCK_TICK_MS} ms x ${QUORUMLOCK_ELECTION_TICKS} election ticks (the defaults)`;

const TARGETS: Array<{ name: string; start: () => Promise<Target>; memory: boolean }> = [
  { name: 'redis', start: () => startRedis({ appendfsyncAlways: false }), memory: false },
  { name: 'redis-aof-always', start: () => startRedis({ appendfsyncAlways: true }), memory: true },
  { name: 'etcd', start: () => startEtcd(3), memory: true },
  { name: 'quorumlock', start: () => startQuorumlock(3), memory: true },
];

interface Results {
  date: string;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  /** HEAD when the run started (the working tree may have had uncommitted changes on top). */
  commit: string;
  plan: Plan;
  lockCycle: LockCycleResult[];
  redisBenchmark: RedisBenchmarkResult[];
  contended: ContendedResult[];
  failover: FailoverResult[];
  memory: MemoryResult[];
  paired: PairedRound[];
  errors: Array<{ target: string; error: string }>;
  durationSeconds: number;
}

/** `--render <results.json>`: writes the .md and .svg again from a run's JSON (after a report change). */
function render(file: string): void {
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Results;
  r.failover ??= [];
  r.memory ??= [];
  r.paired ??= [];
  const base = file.replace(/\.json$/, '');
  fs.writeFileSync(`${base}.md`, markdown(r, `${path.basename(base)}.svg`));
  fs.writeFileSync(`${base}.svg`, svgChart(r));
  console.log(`wrote ${base}.md, .svg`);
}

async function main(): Promise<void> {
  const renderAt = process.argv.indexOf('--render');
  if (renderAt !== -1) return render(process.argv[renderAt + 1]);
  const date = new Date().toISOString().slice(0, 10);
  const results: Results = {
    date,
    quick,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '?', node: process.version, platform: `${os.type()} ${os.release()}`, loadAverageAtStart: os.loadavg(), loadAverageAtEnd: [] },
    commit: gitHead(),
    plan,
    lockCycle: [],
    redisBenchmark: [],
    contended: [],
    failover: [],
    memory: [],
    paired: [],
    errors: [],
    durationSeconds: 0,
  };
  const startedMs = Date.now();
  for (const spec of TARGETS) {
    if (targetFilter !== null && !targetFilter.includes(spec.name)) continue;
    let target: Target | null = null;
    if (['cycle', 'set', 'contended', 'failover'].some(runs)) try {
      console.log(`== ${spec.name}: starting`);
      target = await spec.start();
      for (const clients of runs('cycle') ? plan.clientLevels : []) {
        const r = await runLockCycle(target, clients, plan.seconds);
        results.lockCycle.push(r);
        console.log(`  lock cycle, ${clients} clients: ${r.cyclesPerSec.toFixed(0)} cycles/s, p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} p99.9 ${r.p999Ms.toFixed(2)} ms`);
      }
      if (target.kind !== 'etcd' && runs('set')) {
        for (const [pipeline, requests] of [[1, plan.benchmarkRequests.plain], [16, plan.benchmarkRequests.pipelined]]) {
          const r = await runRedisBenchmark(target, { clients: 50, pipeline, requests });
          results.redisBenchmark.push(r);
          console.log(`  redis-benchmark -c 50 -P ${pipeline}: ${r.requestsPerSec.toFixed(0)} req/s, p50 ${r.p50Ms} p99 ${r.p99Ms} ms`);
        }
      }
      const c = runs('contended') ? await runContended(target, { clients: 20, holdMs: 1, seconds: plan.seconds }) : null;
      if (c) results.contended.push(c);
      if (c) console.log(`  contended key, 20 clients, hold 1 ms: ${c.handoffsPerSec.toFixed(0)} handoffs/s, idle gap p50 ${c.idleGapP50Ms.toFixed(2)} p99 ${c.idleGapP99Ms.toFixed(2)} ms`);
      if (target.nodes.ids.length > 1 && runs('failover')) {
        const f = await runFailover(target, { runs: plan.failoverRuns, clients: plan.failoverClients });
        results.failover.push(f);
        console.log(`  failover (kill -9 the leader, ${plan.failoverRuns} runs): median ${f.medianMs.toFixed(0)} ms, max ${f.maxMs.toFixed(0)} ms`);
      }
    } catch (error) {
      console.error(`  ${spec.name} failed: ${String(error)}`);
      results.errors.push({ target: spec.name, error: String(error) });
    } finally {
      await target?.stop();
      target = null;
    }
    if (!spec.memory || !runs('memory')) continue;
    try {
      console.log(`== ${spec.name}: starting afresh for memory and restart`);
      target = await spec.start();
      const m = await runMemory(target, { locks: spec.name === 'etcd' ? plan.etcdMemoryLocks : plan.memoryLocks, idleSeconds: plan.memoryIdleSeconds });
      results.memory.push(m);
    } catch (error) {
      console.error(`  ${spec.name} (memory) failed: ${String(error)}`);
      results.errors.push({ target: `${spec.name} (memory)`, error: String(error) });
    } finally {
      await target?.stop();
    }
  }
  if (runs('paired')) await runPairedRounds(results);
  results.durationSeconds = (Date.now() - startedMs) / 1000;
  results.machine.loadAverageAtEnd = os.loadavg();
  fs.mkdirSync(resultsDir, { recursive: true });
  // A quick or narrowed run never overwrites the full run of the same day.
  const narrowed = targetFilter !== null || workloadFilter !== null;
  const base = path.join(resultsDir, `${date}${quick ? '-quick' : ''}${narrowed ? '-partial' : ''}`);
  fs.writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + '\n');
  const report = markdown(results, `${path.basename(base)}.svg`);
  fs.writeFileSync(`${base}.md`, report);
  fs.writeFileSync(`${base}.svg`, svgChart(results));
  console.log(`\n${report}\nwrote ${base}.json, .md, .svg`);
}

/**
 * The paired rounds (see the top of this file): every durable target started, then each round
 * runs the lock cycle at 50 clients on each in turn, the order rotated by one each round, so
 * that no target always runs first (or right after another's load).
 */
async function runPairedRounds(results: Results): Promise<void> {
  const reference = { name: NO_FSYNC, start: startQuorumlockNoFsync };
  // The reference comes with quorumlock: `--targets quorumlock,...` runs it too.
  const selected = (name: string): boolean => targetFilter === null || targetFilter.includes(name === NO_FSYNC ? 'quorumlock' : name);
  const specs = [...TARGETS, reference].filter((t) => PAIRED_TARGETS.includes(t.name) && selected(t.name));
  if (specs.length < 2 || !specs.some((t) => t.name === 'quorumlock')) return;
  const started: Target[] = [];
  try {
    console.log(`== paired rounds: ${specs.map((t) => t.name).join(', ')} side by side, ${PAIRED_CLIENTS} clients, ${plan.pairedRounds} rounds`);
    for (const spec of specs) started.push(await spec.start());
    // One unrecorded turn each first: quorumlock's JIT (like the load generator's) warms up over
    // its first seconds under load, which a native server does not need.
    for (const target of started) await runLockCycle(target, PAIRED_CLIENTS, Math.min(3, plan.seconds));
    for (let round = 1; round <= plan.pairedRounds; round++) {
      const shift = (round - 1) % started.length;
      const order = [...started.slice(shift), ...started.slice(0, shift)];
      const entry: PairedRound = { round, results: [] };
      for (const target of order) {
        const r = await runLockCycle(target, PAIRED_CLIENTS, plan.seconds);
        entry.results.push(r);
        console.log(`  round ${round}, ${target.name}: ${r.cyclesPerSec.toFixed(0)} cycles/s, p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} ms`);
      }
      results.paired.push(entry);
    }
  } catch (error) {
    console.error(`  paired rounds failed: ${String(error)}`);
    results.errors.push({ target: 'paired rounds', error: String(error) });
  } finally {
    for (const target of started.reverse()) await target.stop();
  }
}

/** `of`'s cycles/s over `other`'s in one paired round; undefined unless it measured both. */
function roundRatio(round: PairedRound, other: string, of = 'quorumlock'): number | undefined {
  const a = round.results.find((x) => x.target === of);
  const o = round.results.find((x) => x.target === other);
  return a && o && o.cyclesPerSec > 0 ? a.cyclesPerSec / o.cyclesPerSec : undefined;
}

/** roundRatio of every paired round that measured both. */
function pairedRatios(r: Results, other: string, of = 'quorumlock'): number[] {
  return r.paired.map((round) => roundRatio(round, other, of)).filter((x): x is number => x !== undefined);
}

function gitHead(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: path.resolve(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return '?';
  }
}

// ---- Markdown ----

function fmt(n: number | undefined, digits = 2): string {
  return n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !b ? '–' : `${(a / b).toFixed(2)}x`;
}

/** `svgFile`: the chart written beside the report, which the report links to. */
function markdown(r: Results, svgFile: string): string {
  const cycle = (target: string, clients: number): LockCycleResult | undefined => r.lockCycle.find((x) => x.target === target && x.clients === clients);
  const bench = (target: string, pipeline: number): RedisBenchmarkResult | undefined => r.redisBenchmark.find((x) => x.target === target && x.pipeline === pipeline);
  const lines: string[] = [];
  lines.push(`# Benchmark ${r.date}${r.quick ? ' (quick)' : ''}`, '');
  const load = (l: number[] | undefined): string => (l?.length ? l.map((x) => x.toFixed(1)).join(' ') : '?');
  lines.push(`${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}, ${r.machine.platform}, commit ${r.commit ?? '?'}. Everything on 127.0.0.1; one target running at a time, except in the paired rounds (below the tables). Load average ${load(r.machine.loadAverageAtStart)} at the start, ${load(r.machine.loadAverageAtEnd)} at the end (a shared machine).`, '');
  lines.push('| target | workload | clients | cycles/s (req/s) | p50 ms | p99 ms | p99.9 ms | quorumlock/etcd | quorumlock/redis-aof-always |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of r.lockCycle) {
    const isQl = x.target === 'quorumlock';
    lines.push(`| ${x.target} | lock cycle | ${x.clients} | ${fmt(x.cyclesPerSec, 0)} | ${fmt(x.p50Ms)} | ${fmt(x.p99Ms)} | ${fmt(x.p999Ms)} | ${isQl ? ratio(x.cyclesPerSec, cycle('etcd', x.clients)?.cyclesPerSec) : ''} | ${isQl ? ratio(x.cyclesPerSec, cycle('redis-aof-always', x.clients)?.cyclesPerSec) : ''} |`);
  }
  for (const x of r.redisBenchmark) {
    const isQl = x.target === 'quorumlock';
    lines.push(`| ${x.target} | redis-benchmark SET NX PX${x.pipeline > 1 ? ` -P ${x.pipeline}` : ''} | ${x.clients} | ${fmt(x.requestsPerSec, 0)} | ${fmt(x.p50Ms)} | ${fmt(x.p99Ms)} | – | – | ${isQl ? ratio(x.requestsPerSec, bench('redis-aof-always', x.pipeline)?.requestsPerSec) : ''} |`);
  }
  if (r.contended.length) {
    lines.push('', '| target | contended key: clients, hold | handoffs/s | refused acquires/s | idle gap p50 ms | idle gap p99 ms |', '|---|---|---:|---:|---:|---:|');
    for (const c of r.contended) lines.push(`| ${c.target} | ${c.clients}, ${c.holdMs} ms | ${fmt(c.handoffsPerSec, 0)} | ${fmt(c.refusalsPerSec, 0)} | ${fmt(c.idleGapP50Ms)} | ${fmt(c.idleGapP99Ms)} |`);
  }
  lines.push('', 'Lock cycle = acquire a random key among 1M + compare-and-delete release, latency of the whole cycle. redis-benchmark rows give requests/s in the cycles/s column. Contended key: refused workers retry at once; the idle gap runs from a release being acknowledged to the next acquire being acknowledged (it can be negative when the next acquire wins before the release reply arrives).', '');
  if (r.failover.length) {
    lines.push('| target | failover: kill -9 the leader under load | runs | median ms | max ms | min ms | load clients: median / max ms | probe: median / max ms | restarted node caught up, median ms |', '|---|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const f of r.failover) {
      const catchUp = median(f.runs.map((x) => x.catchUpMs));
      lines.push(`| ${f.target} | ${f.loadClients} clients doing lock cycles | ${f.runs.length} | ${fmt(f.medianMs, 0)} | ${fmt(f.maxMs, 0)} | ${fmt(f.minMs, 0)} | ${fmt(f.loadMedianMs, 0)} / ${fmt(f.loadMaxMs, 0)} | ${fmt(f.probeMedianMs, 0)} / ${fmt(f.probeMaxMs, 0)} | ${fmt(catchUp, 0)} |`);
    }
    lines.push('', `Failover = SIGKILL of the leader -> first acknowledged write on the new leader, from either the load clients (quorumlock: ioredis in Sentinel mode; etcd: etcd3 with all endpoints) or a probe writing through every survivor every 10 ms. The killed node is restarted and caught up before the next run. quorumlock: ${r.plan.quorumlockTiming ?? 'tick 100 ms x 10'}; etcd: its defaults (heartbeat 100 ms, election 1000 ms).`, '');
  }
  if (r.memory.length) {
    lines.push('| target | memory: locks held (10 min TTL) | load, locks/s | RSS per node before -> after, MiB | bytes per lock, per node | after 60 s idle, bytes per lock | SIGTERM -> all exited, ms | restart -> each node answers, ms | restart -> serving, ms | sampled locks intact |', '|---|---:|---:|---|---|---|---:|---|---:|---:|');
    for (const m of r.memory) {
      const rss = m.nodes.map((n) => `${n.id} ${fmt(n.rssBeforeBytes / 1048576, 0)} -> ${fmt(n.rssAfterBytes / 1048576, 0)}`).join(', ');
      const perLock = m.nodes.map((n) => fmt(n.bytesPerLock, 0)).join(' / ');
      const idle = m.nodes.some((n) => n.bytesPerLockIdle !== undefined) ? m.nodes.map((n) => fmt(n.bytesPerLockIdle, 0)).join(' / ') : '–';
      const answered = m.answeredMs ? Object.entries(m.answeredMs).map(([id, ms]) => `${id} ${fmt(ms, 0)}`).join(', ') : '–';
      lines.push(`| ${m.target} | ${m.locks.toLocaleString('en-US')} | ${fmt(m.locksPerSec, 0)} | ${rss} | ${perLock} | ${idle} | ${fmt(m.stopMs, 0)} | ${answered} | ${fmt(m.serveMs, 0)} | ${m.verifiedAfterRestart} |`);
    }
    for (const m of r.memory) {
      if (m.retriedAcquires || m.leaderAfterLoad !== m.leaderBeforeLoad) lines.push(`- ${m.target}: the leader changed during the load (${m.leaderBeforeLoad} -> ${m.leaderAfterLoad}); ${m.retriedAcquires} acquires were refused and retried (first error: ${m.retryReason || 'none'}).`);
    }
    lines.push('', 'Bytes per lock = (VmRSS after loading and applying on every node - VmRSS before) / locks (the target is judged on this figure); after 60 s idle = the same with the lowest VmRSS seen in the 60 s that follow, once the garbage collectors have returned what the load left. Restart = every node stopped with SIGTERM, then spawned again on its data dir; serving = a write acknowledged and a loaded lock read back with its owner, through any node (redis: its AOF reloaded; etcd and quorumlock: an elected leader). etcd holds fewer locks when its load generator (one Node etcd3 client, ~2,400 txn/s here) would take too long.', '');
  }
  if (r.paired.length) {
    const names = PAIRED_TARGETS.filter((t) => r.paired.some((p) => p.results.some((x) => x.target === t)));
    const others = names.filter((t) => t !== 'quorumlock' && t !== NO_FSYNC);
    lines.push(
      `| paired round, ${PAIRED_CLIENTS} clients | order | ${names.map((t) => `${t} cycles/s`).join(' | ')} | ${others.map((t) => `quorumlock/${t}`).join(' | ')} |`,
      `|---|---|${names.map(() => '---:').join('|')}|${others.map(() => '---:').join('|')}|`,
    );
    for (const p of r.paired) {
      const cycles = (t: string): number | undefined => p.results.find((x) => x.target === t)?.cyclesPerSec;
      const asRatio = (v: number | undefined): string => (v === undefined ? '–' : `${fmt(v)}x`);
      lines.push(`| ${p.round} | ${p.results.map((x) => x.target).join(' → ')} | ${names.map((t) => fmt(cycles(t), 0)).join(' | ')} | ${others.map((t) => asRatio(roundRatio(p, t))).join(' | ')} |`);
    }
    lines.push(`| median | | ${names.map((t) => fmt(median(r.paired.flatMap((p) => p.results.filter((x) => x.target === t).map((x) => x.cyclesPerSec))), 0)).join(' | ')} | ${others.map((t) => `${fmt(median(pairedRatios(r, t)))}x`).join(' | ')} |`);
    lines.push('', `Paired rounds: the durable targets side by side, taking turns at ${PAIRED_CLIENTS} clients for ${r.plan.seconds} s each, the order rotated every round, so that each round's figures are taken within half a minute of each other (this machine's speed drifts over minutes). The ratio targets below use the median of the rounds' ratios.`, '');
    const bound = pairedRatios(r, 'redis-aof-always', NO_FSYNC);
    if (bound.length > 0) {
      lines.push(
        `Reference, not a target: ${NO_FSYNC} is a quorumlock cluster whose nodes never sync their Raft logs (\`--test-unsafe-no-fsync\`: a power loss could lose acknowledged writes). Its cycles/s over redis-aof-always's: median ${fmt(median(bound))}x (rounds ${bound.map((x) => `${fmt(x)}x`).join(', ')}). That is how far quorumlock's CPU alone takes it against Redis on this machine, with its disk work free.`,
        '',
      );
    }
  }
  // The issue's targets for quorumlock, each met or not (only those this run measured).
  const checks: Array<[string, boolean | undefined, string]> = [];
  const ql50 = cycle('quorumlock', 50);
  const ql1 = cycle('quorumlock', 1);
  const etcd50 = cycle('etcd', 50);
  const aof50 = cycle('redis-aof-always', 50);
  // Judged on the paired rounds when the run has them, else on the per-target pass.
  const ratioCheck = (other: string, at50: LockCycleResult | undefined, times: number, what: string): void => {
    const paired = pairedRatios(r, other);
    if (paired.length > 0) {
      const m = median(paired);
      checks.push([`${what} (median of ${paired.length} paired round${paired.length === 1 ? '' : 's'})`, m >= times, `${fmt(m)}x (rounds ${paired.map((x) => `${fmt(x)}x`).join(', ')}; per-target pass ${ratio(ql50?.cyclesPerSec, at50?.cyclesPerSec)})`]);
    } else if (ql50 && at50) {
      checks.push([what, ql50.cyclesPerSec >= times * at50.cyclesPerSec, ratio(ql50.cyclesPerSec, at50.cyclesPerSec)]);
    }
  };
  ratioCheck('etcd', etcd50, 5, 'lock cycle @50 ≥ 5x etcd');
  ratioCheck('redis-aof-always', aof50, 0.5, 'lock cycle @50 ≥ 0.5x redis appendfsync always');
  const b1 = bench('quorumlock', 1);
  const b16 = bench('quorumlock', 16);
  if (b1) checks.push(['SET NX PX -c 50 ≥ 15,000/s', b1.requestsPerSec >= 15_000, `${fmt(b1.requestsPerSec, 0)}/s`]);
  if (b16) checks.push(['SET NX PX -c 50 -P 16 ≥ 50,000/s', b16.requestsPerSec >= 50_000, `${fmt(b16.requestsPerSec, 0)}/s`]);
  if (ql1) checks.push(['lock cycle @1 p50 < 1.5 ms', ql1.p50Ms < 1.5, `${fmt(ql1.p50Ms)} ms`]);
  if (ql1) checks.push(['lock cycle @1 p99 < 5 ms', ql1.p99Ms < 5, `${fmt(ql1.p99Ms)} ms`]);
  const qlFailover = r.failover.find((x) => x.target === 'quorumlock');
  if (qlFailover) checks.push([`failover median < 1.5 s (${qlFailover.runs.length} runs)`, qlFailover.medianMs < 1500, `${fmt(qlFailover.medianMs, 0)} ms`]);
  if (qlFailover) checks.push([`failover max < 3 s (${qlFailover.runs.length} runs)`, qlFailover.maxMs < 3000, `${fmt(qlFailover.maxMs, 0)} ms`]);
  const qlMemory = r.memory.find((x) => x.target === 'quorumlock');
  if (qlMemory) checks.push([`< 400 bytes RSS per held lock per node (${qlMemory.locks.toLocaleString('en-US')} locks)`, qlMemory.bytesPerLockMax < 400, `${fmt(qlMemory.bytesPerLockMax, 0)} B (worst node)`]);
  if (qlMemory) checks.push(['serving within 10 s of a restart', qlMemory.serveMs < 10_000, `${fmt(qlMemory.serveMs, 0)} ms`]);
  if (checks.length) {
    lines.push('| quorumlock target (issue 6) | measured | met |', '|---|---:|:---:|');
    for (const [what, met, measured] of checks) lines.push(`| ${what} | ${measured} | ${met ? 'yes' : 'no'} |`);
    lines.push('');
  }
  for (const e of r.errors) lines.push(`- **${e.target} failed**: ${e.error}`);
  lines.push(`Whole run: ${fmt(r.durationSeconds / 60, 1)} min.`, '');
  lines.push(`![throughput and p99 against clients; failover; memory per lock](${svgFile})`, '');
  return lines.join('\n');
}

// ---- SVG (hand-written: two panels, x = client count on a log scale) ----

const COLORS: Record<string, string> = { redis: '#d62728', 'redis-aof-always': '#ff7f0e', etcd: '#1f77b4', quorumlock: '#2ca02c' };

/** The smallest "round" number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 x 10^k) at or above v, so fifths of it make readable ticks. */
function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1e-9)));
  return ([1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((m) => m * p >= v) ?? 10) * p;
}

function svgChart(r: Results): string {
  const width = 1000;
  const secondRow = r.failover.length > 0 || r.memory.length > 0;
  const height = secondRow ? 840 : 420;
  const panelW = 420;
  const panelH = 300;
  const top = 50;
  const left = [70, 570];
  const clients = [...new Set(r.lockCycle.map((x) => x.clients))].sort((a, b) => a - b);
  const targets = [...new Set(r.lockCycle.map((x) => x.target))];
  const logX = (c: number): number => {
    const lo = Math.log10(Math.max(1, clients[0] ?? 1));
    const hi = Math.log10(Math.max(clients[clients.length - 1] ?? 10, (clients[0] ?? 1) * 10));
    return hi === lo ? panelW / 2 : ((Math.log10(c) - lo) / (hi - lo)) * panelW;
  };
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="15">Lock cycle: throughput and p99 against concurrent clients (${esc(r.date)}${r.quick ? ', quick' : ''})</text>`);
  const panels: Array<{ title: string; value: (x: LockCycleResult) => number; log: boolean }> = [
    { title: 'cycles/s', value: (x) => x.cyclesPerSec, log: false },
    { title: 'p99 latency, ms (log scale)', value: (x) => x.p99Ms, log: true },
  ];
  panels.forEach((panel, i) => {
    const x0 = left[i];
    const values = r.lockCycle.map(panel.value).filter((v) => Number.isFinite(v) && v > 0);
    let yLo = 0;
    let yHi = niceMax(Math.max(1, ...values) * 1.05);
    if (panel.log) {
      yLo = Math.floor(Math.log10(Math.min(...values, 1)));
      yHi = Math.ceil(Math.log10(Math.max(...values, 10)));
    }
    const y = (v: number): number => {
      const t = panel.log ? (Math.log10(Math.max(v, 10 ** yLo)) - yLo) / (yHi - yLo) : (v - yLo) / (yHi - yLo);
      return top + panelH - t * panelH;
    };
    out.push(`<text x="${x0 + panelW / 2}" y="${top - 10}" text-anchor="middle" font-weight="bold">${esc(panel.title)}</text>`);
    out.push(`<line x1="${x0}" y1="${top + panelH}" x2="${x0 + panelW}" y2="${top + panelH}" stroke="black"/>`);
    out.push(`<line x1="${x0}" y1="${top}" x2="${x0}" y2="${top + panelH}" stroke="black"/>`);
    const ticks = panel.log
      ? Array.from({ length: yHi - yLo + 1 }, (_, k) => 10 ** (yLo + k))
      : Array.from({ length: 6 }, (_, k) => (yHi * k) / 5);
    for (const v of ticks) {
      const ty = y(v);
      out.push(`<line x1="${x0}" y1="${ty}" x2="${x0 + panelW}" y2="${ty}" stroke="#ddd"/>`);
      out.push(`<text x="${x0 - 5}" y="${ty + 4}" text-anchor="end">${v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k` : Number(v.toPrecision(3))}</text>`);
    }
    for (const c of clients) {
      out.push(`<text x="${x0 + logX(c)}" y="${top + panelH + 16}" text-anchor="middle">${c}</text>`);
    }
    out.push(`<text x="${x0 + panelW / 2}" y="${top + panelH + 34}" text-anchor="middle">concurrent clients</text>`);
    for (const target of targets) {
      const pts = r.lockCycle.filter((x) => x.target === target && Number.isFinite(panel.value(x))).sort((a, b) => a.clients - b.clients);
      const color = COLORS[target] ?? '#555';
      const coords = pts.map((p) => `${(x0 + logX(p.clients)).toFixed(1)},${y(panel.value(p)).toFixed(1)}`);
      if (coords.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${coords.join(' ')}"/>`);
      for (const c of coords) out.push(`<circle cx="${c.split(',')[0]}" cy="${c.split(',')[1]}" r="3" fill="${color}"/>`);
    }
  });
  if (secondRow) out.push(...svgSecondRow(r, { top: 470, panelW, panelH, left, esc }));
  const legendTargets = [...new Set([...targets, ...r.failover.map((f) => f.target), ...r.memory.map((m) => m.target)])];
  legendTargets.forEach((target, k) => {
    const lx = 70 + k * 200;
    out.push(`<rect x="${lx}" y="${398}" width="14" height="4" fill="${COLORS[target] ?? '#555'}"/>`);
    out.push(`<text x="${lx + 20}" y="${405}">${esc(target)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * Workloads 4 and 5 as two panels: failover times (one dot per run, a bar at the median, dashed
 * lines at the 1.5 s median and 3 s max targets) and bytes of RSS per held lock (one bar per node,
 * a dashed line at the 400-byte target).
 */
function svgSecondRow(r: Results, g: { top: number; panelW: number; panelH: number; left: number[]; esc: (s: string) => string }): string[] {
  const out: string[] = [];
  const { top, panelW, panelH, left, esc } = g;
  const axes = (x0: number, title: string, yHi: number, unit: (v: number) => string): ((v: number) => number) => {
    const y = (v: number): number => top + panelH - (Math.min(v, yHi) / yHi) * panelH;
    out.push(`<text x="${x0 + panelW / 2}" y="${top - 10}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
    out.push(`<line x1="${x0}" y1="${top + panelH}" x2="${x0 + panelW}" y2="${top + panelH}" stroke="black"/>`);
    out.push(`<line x1="${x0}" y1="${top}" x2="${x0}" y2="${top + panelH}" stroke="black"/>`);
    for (let k = 0; k <= 5; k++) {
      const v = (yHi * k) / 5;
      out.push(`<line x1="${x0}" y1="${y(v)}" x2="${x0 + panelW}" y2="${y(v)}" stroke="#ddd"/>`);
      out.push(`<text x="${x0 - 5}" y="${y(v) + 4}" text-anchor="end">${unit(v)}</text>`);
    }
    return y;
  };
  // Drawn after the data so the dashed target lines and their labels stay visible.
  const targetLine = (x0: number, y: number, label: string): void => {
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + panelW}" y2="${y}" stroke="black" stroke-dasharray="5,4"/>`);
    out.push(`<text x="${x0 + 4}" y="${y - 4}" text-anchor="start" stroke="white" stroke-width="3" paint-order="stroke">${esc(label)}</text>`);
  };
  if (r.failover.length) {
    const x0 = left[0];
    const all = r.failover.flatMap((f) => f.runs.map((x) => x.firstAckMs)).filter(Number.isFinite);
    const yHi = niceMax(Math.max(3500, ...all) * 1.05);
    const y = axes(x0, 'Failover: kill -9 the leader -> first acknowledged write', yHi, (v) => `${(v / 1000).toFixed(1)} s`);
    const slot = panelW / r.failover.length;
    r.failover.forEach((f, k) => {
      const cx = x0 + slot * (k + 0.5);
      const color = COLORS[f.target] ?? '#555';
      out.push(`<line x1="${cx - slot / 4}" y1="${y(f.medianMs)}" x2="${cx + slot / 4}" y2="${y(f.medianMs)}" stroke="${color}" stroke-width="3"/>`);
      f.runs.forEach((run, i) => {
        if (!Number.isFinite(run.firstAckMs)) return;
        const jitter = ((i % 5) - 2) * 6;
        out.push(`<circle cx="${(cx + jitter).toFixed(1)}" cy="${y(run.firstAckMs).toFixed(1)}" r="3.5" fill="${color}" fill-opacity="0.7"/>`);
      });
      out.push(`<text x="${cx}" y="${top + panelH + 16}" text-anchor="middle">${esc(f.target)} (n=${f.runs.length})</text>`);
      out.push(`<text x="${cx}" y="${top + panelH + 32}" text-anchor="middle">median ${f.medianMs.toFixed(0)}, max ${f.maxMs.toFixed(0)} ms</text>`);
    });
    targetLine(x0, y(1500), 'median target 1.5 s');
    targetLine(x0, y(3000), 'max target 3 s');
  }
  if (r.memory.length) {
    const x0 = left[1];
    const values = r.memory.flatMap((m) => m.nodes.map((n) => n.bytesPerLock));
    const yHi = niceMax(Math.max(500, ...values) * 1.08);
    const y = axes(x0, 'RSS bytes per held lock, per node', yHi, (v) => v.toFixed(0));
    const slot = panelW / r.memory.length;
    r.memory.forEach((m, k) => {
      const color = COLORS[m.target] ?? '#555';
      const barW = (slot * 0.7) / m.nodes.length;
      m.nodes.forEach((n, i) => {
        const bx = x0 + slot * k + slot * 0.15 + barW * i;
        const v = Math.max(0, n.bytesPerLock);
        out.push(`<rect x="${bx.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + panelH - y(v)).toFixed(1)}" fill="${color}"/>`);
        out.push(`<text x="${(bx + barW / 2 - 1).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="10">${v.toFixed(0)}</text>`);
      });
      const cx = x0 + slot * (k + 0.5);
      out.push(`<text x="${cx}" y="${top + panelH + 16}" text-anchor="middle">${esc(m.target)}</text>`);
      out.push(`<text x="${cx}" y="${top + panelH + 32}" text-anchor="middle" font-size="11">${(m.locks / 1000).toFixed(0)}k locks; restart ${(m.serveMs / 1000).toFixed(1)} s</text>`);
    });
    targetLine(x0, y(400), 'target < 400 B');
  }
  return out;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
