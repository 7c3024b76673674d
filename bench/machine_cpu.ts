// Where the machine's CPU goes per lock cycle, for each durable target: the question behind the
// 0.5x-Redis-AOF target of issue 6, which compares a 3-node cluster with one redis-server on the
// same two cores. Starts each target in turn (redis-aof-always, quorumlock, and etcd with
// --etcd), warms it with 3 s of lock cycles, then runs the bench's lock cycle workload and reads,
// over the measured run: /proc/stat (the whole machine: user, system, softirq, idle, iowait,
// steal), /proc/<pid>/stat of every server process, and this process's own CPU (the load
// generator). Prints CPU µs per cycle for each, and the share of the machine left idle. When a
// target leaves the machine near no idle time, its cycles/s is set by CPU per cycle, and the
// ratio of two such targets' cycles/s is the inverse ratio of their machine CPU per cycle.
//
// --no-fsync adds a quorumlock cluster whose nodes never sync their logs (--test-unsafe-no-fsync,
// unsafe for data): what the disk costs per cycle, and how far quorumlock could go were its syncs
// free. --rounds N runs the whole list N times, so a drift of the machine shows.
//
// Run: npx tsc -p . && node dist/bench/machine_cpu.js [--clients 50] [--seconds 10] [--etcd] [--no-fsync] [--rounds 1]

import * as fs from 'node:fs';
import * as os from 'node:os';
import { flag } from './flags';
import { startEtcd } from './targets/etcd';
import { startQuorumlock, startQuorumlockNoFsync } from './targets/quorumlock';
import { startRedis } from './targets/redis';
import type { Target } from './targets/target';
import { runLockCycle } from './workloads/lock_cycle';

const clients = Number(flag('clients', '50'));
const seconds = Number(flag('seconds', '10'));
const rounds = Number(flag('rounds', '1'));
/** Kernel ticks per second of /proc/stat and /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SEC = 100;

interface MachineTicks {
  user: number;
  system: number;
  softirq: number;
  idle: number;
  iowait: number;
  steal: number;
  total: number;
}

function machineTicks(): MachineTicks {
  const line = fs.readFileSync('/proc/stat', 'latin1').split('\n')[0];
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { user: user + nice, system: system + irq, softirq, idle, iowait, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** utime + stime of a process, in ticks. */
function processTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  // The command name may hold spaces: the fields that follow start after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function selfMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Cycles/s of every target, by name, over the rounds. */
const results = new Map<string, number[]>();

async function measure(target: Target): Promise<void> {
  await runLockCycle(target, clients, 3);
  const pids = target.nodes.ids.map((id) => target.nodes.pid(id));
  const machine0 = machineTicks();
  const nodes0 = pids.map(processTicks);
  const self0 = selfMicros();
  const result = await runLockCycle(target, clients, seconds);
  const self1 = selfMicros();
  const nodes1 = pids.map(processTicks);
  const machine1 = machineTicks();
  // The counters cover the workload's 1 s warm-up and its wind-down too; the cycles counted are
  // those of the measured window, so the per-cycle figures are scaled to the whole span.
  const spanCycles = result.cyclesPerSec * ((machine1.total - machine0.total) / TICKS_PER_SEC / os.cpus().length);
  const perCycle = (ticks: number): string => ((ticks / TICKS_PER_SEC / spanCycles) * 1e6).toFixed(1);
  const d = (k: keyof MachineTicks): number => machine1[k] - machine0[k];
  const share = (k: keyof MachineTicks): string => `${((100 * d(k)) / d('total')).toFixed(0)}%`;
  results.set(target.name, [...(results.get(target.name) ?? []), result.cyclesPerSec]);
  console.log(`${target.name}: ${result.cyclesPerSec.toFixed(0)} cycles/s at ${clients} clients, p50 ${result.p50Ms.toFixed(2)} ms`);
  console.log(
    `  machine: ${perCycle(d('total') - d('idle') - d('iowait'))} µs of CPU per cycle ` +
      `(user ${perCycle(d('user'))}, system ${perCycle(d('system'))}, softirq ${perCycle(d('softirq'))}); ` +
      `idle ${share('idle')}, iowait ${share('iowait')}, steal ${share('steal')}`,
  );
  const nodes = target.nodes.ids.map((id, i) => `${id} ${perCycle(nodes1[i] - nodes0[i])}`).join(', ');
  console.log(`  servers: ${nodes} µs per cycle; load generator (this process) ${((self1 - self0) / spanCycles).toFixed(1)} µs per cycle`);
}

async function main(): Promise<void> {
  const starts: Array<() => Promise<Target>> = [() => startRedis({ appendfsyncAlways: true }), () => startQuorumlock(3)];
  if (process.argv.includes('--no-fsync')) starts.push(startQuorumlockNoFsync);
  if (process.argv.includes('--etcd')) starts.push(() => startEtcd(3));
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) console.log(`round ${round} of ${rounds}`);
    for (const start of starts) {
      const target = await start();
      try {
        await measure(target);
      } finally {
        await target.stop();
      }
    }
  }
  // Each target's cycles/s over Redis with appendfsync always's in the same round.
  const redis = results.get('redis-aof-always') ?? [];
  for (const [name, perSec] of results) {
    if (name === 'redis-aof-always') continue;
    const ratios = perSec.map((n, i) => (n / redis[i]).toFixed(2));
    console.log(`${name} / redis-aof-always, by round: ${ratios.join(' ')}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
