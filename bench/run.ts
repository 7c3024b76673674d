// The side-by-side benchmark (issue 6): starts each target in turn on loopback (redis with no
// persistence, redis with appendfsync always, a 3-node etcd cluster, a 3-node quorumlock cluster),
// runs every workload the target can run with the same load generator, stops it, and writes
// bench/results/<date>.{json,md,svg}. One target at a time, so they never compete for the 2 cores.
//
// Run: npm run bench [-- --quick]   (quick: 1 and 50 clients, 3 s each; under 3 minutes)

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

const quick = process.argv.includes('--quick');
const resultsDir = path.resolve(__dirname, '..', '..', 'bench', 'results');

interface Plan {
  clientLevels: number[];
  seconds: number;
  benchmarkRequests: { plain: number; pipelined: number };
}

const plan: Plan = quick
  ? { clientLevels: [1, 50], seconds: 3, benchmarkRequests: { plain: 10_000, pipelined: 30_000 } }
  : { clientLevels: [1, 10, 50, 200], seconds: 10, benchmarkRequests: { plain: 100_000, pipelined: 300_000 } };

const TARGETS: Array<{ name: string; start: () => Promise<Target> }> = [
  { name: 'redis', start: () => startRedis({ appendfsyncAlways: false }) },
  { name: 'redis-aof-always', start: () => startRedis({ appendfsyncAlways: true }) },
  { name: 'etcd', start: () => startEtcd(3) },
  { name: 'quorumlock', start: () => startQuorumlock(3) },
];

interface Results {
  date: string;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; node: string; platform: string };
  plan: Plan;
  lockCycle: LockCycleResult[];
  redisBenchmark: RedisBenchmarkResult[];
  contended: ContendedResult[];
  errors: Array<{ target: string; error: string }>;
}

async function main(): Promise<void> {
  const date = new Date().toISOString().slice(0, 10);
  const results: Results = {
    date,
    quick,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '?', node: process.version, platform: `${os.type()} ${os.release()}` },
    plan,
    lockCycle: [],
    redisBenchmark: [],
    contended: [],
    errors: [],
  };
  for (const spec of TARGETS) {
    let target: Target | null = null;
    try {
      console.log(`== ${spec.name}: starting`);
      target = await spec.start();
      for (const clients of plan.clientLevels) {
        const r = await runLockCycle(target, clients, plan.seconds);
        results.lockCycle.push(r);
        console.log(`  lock cycle, ${clients} clients: ${r.cyclesPerSec.toFixed(0)} cycles/s, p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} p99.9 ${r.p999Ms.toFixed(2)} ms`);
      }
      if (target.kind !== 'etcd') {
        for (const [pipeline, requests] of [[1, plan.benchmarkRequests.plain], [16, plan.benchmarkRequests.pipelined]]) {
          const r = await runRedisBenchmark(target, { clients: 50, pipeline, requests });
          results.redisBenchmark.push(r);
          console.log(`  redis-benchmark -c 50 -P ${pipeline}: ${r.requestsPerSec.toFixed(0)} req/s, p50 ${r.p50Ms} p99 ${r.p99Ms} ms`);
        }
      }
      const c = await runContended(target, { clients: 20, holdMs: 1, seconds: plan.seconds });
      results.contended.push(c);
      console.log(`  contended key, 20 clients, hold 1 ms: ${c.handoffsPerSec.toFixed(0)} handoffs/s, idle gap p50 ${c.idleGapP50Ms.toFixed(2)} p99 ${c.idleGapP99Ms.toFixed(2)} ms`);
    } catch (error) {
      console.error(`  ${spec.name} failed: ${String(error)}`);
      results.errors.push({ target: spec.name, error: String(error) });
    } finally {
      await target?.stop();
    }
  }
  fs.mkdirSync(resultsDir, { recursive: true });
  const base = path.join(resultsDir, date);
  fs.writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(`${base}.md`, markdown(results));
  fs.writeFileSync(`${base}.svg`, svgChart(results));
  console.log(`\n${markdown(results)}\nwrote ${base}.json, .md, .svg`);
}

// ---- Markdown ----

function fmt(n: number | undefined, digits = 2): string {
  return n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !b ? '–' : `${(a / b).toFixed(2)}x`;
}

function markdown(r: Results): string {
  const cycle = (target: string, clients: number): LockCycleResult | undefined => r.lockCycle.find((x) => x.target === target && x.clients === clients);
  const bench = (target: string, pipeline: number): RedisBenchmarkResult | undefined => r.redisBenchmark.find((x) => x.target === target && x.pipeline === pipeline);
  const lines: string[] = [];
  lines.push(`# Benchmark ${r.date}${r.quick ? ' (quick)' : ''}`, '');
  lines.push(`${r.machine.cpus} × ${r.machine.cpuModel}, Node ${r.machine.node}, ${r.machine.platform}. Everything on 127.0.0.1; one target running at a time.`, '');
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
  // The issue's targets for quorumlock, each met or not (only those this run measured).
  const checks: Array<[string, boolean | undefined, string]> = [];
  const ql50 = cycle('quorumlock', 50);
  const ql1 = cycle('quorumlock', 1);
  const etcd50 = cycle('etcd', 50);
  const aof50 = cycle('redis-aof-always', 50);
  if (ql50 && etcd50) checks.push(['lock cycle @50 ≥ 5x etcd', ql50.cyclesPerSec >= 5 * etcd50.cyclesPerSec, ratio(ql50.cyclesPerSec, etcd50.cyclesPerSec)]);
  if (ql50 && aof50) checks.push(['lock cycle @50 ≥ 0.5x redis appendfsync always', ql50.cyclesPerSec >= 0.5 * aof50.cyclesPerSec, ratio(ql50.cyclesPerSec, aof50.cyclesPerSec)]);
  const b1 = bench('quorumlock', 1);
  const b16 = bench('quorumlock', 16);
  if (b1) checks.push(['SET NX PX -c 50 ≥ 15,000/s', b1.requestsPerSec >= 15_000, `${fmt(b1.requestsPerSec, 0)}/s`]);
  if (b16) checks.push(['SET NX PX -c 50 -P 16 ≥ 50,000/s', b16.requestsPerSec >= 50_000, `${fmt(b16.requestsPerSec, 0)}/s`]);
  if (ql1) checks.push(['lock cycle @1 p50 < 1.5 ms', ql1.p50Ms < 1.5, `${fmt(ql1.p50Ms)} ms`]);
  if (ql1) checks.push(['lock cycle @1 p99 < 5 ms', ql1.p99Ms < 5, `${fmt(ql1.p99Ms)} ms`]);
  if (checks.length) {
    lines.push('| quorumlock target (issue 6) | measured | met |', '|---|---:|:---:|');
    for (const [what, met, measured] of checks) lines.push(`| ${what} | ${measured} | ${met ? 'yes' : 'no'} |`);
    lines.push('');
  }
  for (const e of r.errors) lines.push(`- **${e.target} failed**: ${e.error}`);
  lines.push(`![throughput and p99 against clients](${r.date}.svg)`, '');
  return lines.join('\n');
}

// ---- SVG (hand-written: two panels, x = client count on a log scale) ----

const COLORS: Record<string, string> = { redis: '#d62728', 'redis-aof-always': '#ff7f0e', etcd: '#1f77b4', quorumlock: '#2ca02c' };

function svgChart(r: Results): string {
  const width = 1000;
  const height = 420;
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
    let yHi = Math.max(1, ...values) * 1.1;
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
  targets.forEach((target, k) => {
    const lx = 70 + k * 200;
    out.push(`<rect x="${lx}" y="${height - 22}" width="14" height="4" fill="${COLORS[target] ?? '#555'}"/>`);
    out.push(`<text x="${lx + 20}" y="${height - 15}">${esc(target)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
