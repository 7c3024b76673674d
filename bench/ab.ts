// Two builds of quorumlock, side by side on this machine, in alternating turns: the way every
// write-path change of issue 6 was judged, since this machine's speed drifts by 15-40% over
// minutes and two runs taken minutes apart compare the drift as much as the builds.
//
// Starts a 3-node cluster (the bench's quorumlock target: shipped defaults) from each build,
// then runs `rounds` rounds; in each, both clusters get one turn of the workload, in an order that
// alternates every round (A B, B A, ...), and the round's figure is B/A. Prints every turn and the
// median of the rounds' ratios. The idle cluster only heartbeats while the other one works.
//
// Build A: another checkout with its own `npm ci && npx tsc -p .`, e.g.
//   git worktree add /tmp/ql-a <commit> && (cd /tmp/ql-a && npm ci && npx tsc -p .)
// Build B: this checkout.
//
// Run: npx tsc -p . && node dist/bench/ab.js --a /tmp/ql-a [--workload cycle|set|setp16] [--clients 50]
//        [--seconds 5] [--rounds 8]
// Workloads: cycle = the lock cycle of workload 1 (cycles/s, p50/p99); set = redis-benchmark
// SET NX PX at --clients (req/s); setp16 = the same with -P 16.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { flag } from './flags';
import { startQuorumlock } from './targets/quorumlock';
import type { Target } from './targets/target';
import { median } from './workloads/failover';
import { runLockCycle } from './workloads/lock_cycle';
import { runRedisBenchmark } from './workloads/redis_benchmark';

interface Turn {
  perSec: number;
  p50Ms: number;
  p99Ms: number;
}

const aDir = flag('a');
const workload = flag('workload', 'cycle');
const clients = Number(flag('clients', '50'));
const seconds = Number(flag('seconds', '5'));
const rounds = Number(flag('rounds', '8'));

async function turn(target: Target): Promise<Turn> {
  if (workload === 'cycle') {
    const r = await runLockCycle(target, clients, seconds);
    return { perSec: r.cyclesPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms };
  }
  const pipeline = workload === 'setp16' ? 16 : 1;
  // About `seconds` of work at the last turn's rate would need the rate first: a fixed count
  // scaled to the usual figures (~15k/s, ~50k/s with -P 16) is close enough.
  const requests = Math.round(seconds * (pipeline === 16 ? 50_000 : 15_000));
  const r = await runRedisBenchmark(target, { clients, pipeline, requests });
  return { perSec: r.requestsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms };
}

const show = (t: Turn): string => `${t.perSec.toFixed(0)}/s p50 ${t.p50Ms.toFixed(2)} p99 ${t.p99Ms.toFixed(2)} ms`;

async function main(): Promise<void> {
  if (!aDir) throw new Error('--a <checkout of build A> is required (see the header of bench/ab.ts)');
  const aBin = path.resolve(aDir, 'bin', 'quorumlock');
  if (!fs.existsSync(path.resolve(aDir, 'dist'))) throw new Error(`${aDir} has no dist/: run npm ci && npx tsc -p . there first`);
  if (!['cycle', 'set', 'setp16'].includes(workload)) throw new Error(`--workload ${workload}: expected cycle, set or setp16`);
  const a = await startQuorumlock(3, aBin);
  const b = await startQuorumlock(3).catch(async (error: unknown) => {
    await a.stop();
    throw error;
  });
  try {
    console.log(`A = ${aDir}, B = this checkout; ${workload}, ${clients} clients, ${seconds} s turns, ${rounds} rounds`);
    // One unrecorded turn each: V8 compiles the hot paths of every node and of this process.
    await turn(a);
    await turn(b);
    const ratios: number[] = [];
    const p99Ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const aFirst = round % 2 === 1;
      const first = await turn(aFirst ? a : b);
      const second = await turn(aFirst ? b : a);
      const [ta, tb] = aFirst ? [first, second] : [second, first];
      ratios.push(tb.perSec / ta.perSec);
      p99Ratios.push(tb.p99Ms / ta.p99Ms);
      console.log(`round ${round} (${aFirst ? 'A B' : 'B A'}): A ${show(ta)} | B ${show(tb)} | B/A ${(tb.perSec / ta.perSec).toFixed(3)}`);
    }
    console.log(`median B/A: throughput ${median(ratios).toFixed(3)}, p99 ${median(p99Ratios).toFixed(3)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')})`);
  } finally {
    await b.stop();
    await a.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
