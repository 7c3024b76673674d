// Whether this machine stalls every process together when it is busy and fsyncing (the cause of
// one client's lock-cycle p99 here; see bench/README.md). Runs `burners` child processes that spin
// and record every gap of more than 3 ms in their own execution (time they were not scheduled),
// optionally beside one process doing synced 200-byte writes (O_DSYNC) at `rate` per second.
// On the 2-core VMs this project is built on: 2 burners alone show no gaps; 2 burners plus 1,000
// synced writes/s show a gap of 4-8 ms about every 100 ms in every process, which is what a host
// enforcing a CPU quota per 100 ms period (counting the work of the guest's disk flushes) looks like.
// Prints only; asserts nothing.
//
// Run: npx tsc -p . && node dist/bench/vm_stalls.js [--burners 2] [--rate 1000] [--seconds 6]

import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { flag } from './flags';

const numberFlag = (name: string, fallback: number): number => Number(flag(name, String(fallback)));

type Report = { role: string; gaps: number[]; writes?: number };

function burn(seconds: number): Report {
  const gaps: number[] = [];
  const t0 = performance.now();
  let last = t0;
  for (;;) {
    const now = performance.now();
    if (now - last > 3) gaps.push(Math.round(last - t0));
    last = now;
    if (now - t0 > seconds * 1000) return { role: 'burner', gaps };
  }
}

function write(seconds: number, rate: number): Report {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vm-stalls-')), 'log');
  fs.writeFileSync(file, Buffer.alloc(16 * 1024 * 1024));
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_DSYNC);
  const record = Buffer.alloc(200, 0x61);
  const gaps: number[] = [];
  const t0 = performance.now();
  let i = 0;
  while (performance.now() - t0 < seconds * 1000) {
    while (performance.now() < t0 + (i * 1000) / rate) {
      // paced by spinning: timers are too coarse for 1,000/s
    }
    const start = performance.now();
    fs.writeSync(fd, record, 0, record.length, (i * record.length) % (16 * 1024 * 1024));
    if (performance.now() - start > 3) gaps.push(Math.round(start - t0));
    i++;
  }
  fs.closeSync(fd);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return { role: 'writer', gaps, writes: i };
}

/** "n gaps; at 112 213 ..." with the median spacing between consecutive gaps. */
function describe(r: Report): string {
  const spacing = r.gaps.slice(1).map((g, i) => g - r.gaps[i]).sort((a, b) => a - b);
  const median = spacing.length > 0 ? `, median spacing ${spacing[spacing.length >> 1]} ms` : '';
  const writes = r.writes === undefined ? '' : ` (${r.writes} synced writes)`;
  return `${r.role}${writes}: ${r.gaps.length} stalls > 3 ms${median}; first at ${r.gaps.slice(0, 12).join(' ')} ms`;
}

async function main(): Promise<void> {
  const burners = numberFlag('burners', 2);
  const rate = numberFlag('rate', 1000);
  const seconds = numberFlag('seconds', 6);
  const child = (args: string[]): Promise<Report> =>
    new Promise((resolve, reject) => {
      const proc = fork(__filename, args);
      proc.once('message', (m) => resolve(m as Report));
      proc.once('error', reject);
    });
  const runs: Promise<Report>[] = [];
  for (let b = 0; b < burners; b++) runs.push(child(['--child', 'burn', '--seconds', String(seconds)]));
  if (rate > 0) runs.push(child(['--child', 'write', '--seconds', String(seconds), '--rate', String(rate)]));
  console.log(`${burners} burner(s), ${rate > 0 ? `${rate} synced writes/s` : 'no writes'}, ${seconds} s:`);
  for (const r of await Promise.all(runs)) console.log(`  ${describe(r)}`);
}

const role = flag('child', '');
if (role === 'burn') process.send!(burn(numberFlag('seconds', 6)), () => process.exit(0));
else if (role === 'write') process.send!(write(numberFlag('seconds', 6), numberFlag('rate', 1000)), () => process.exit(0));
else main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
