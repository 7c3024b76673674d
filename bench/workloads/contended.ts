// Workload 3: one contended key. 20 workers (one connection each) fight for the same lock: a worker
// that gets it holds it 1 ms, releases it, and tries again; a worker that is refused retries at once
// (no back-off, so the figure is the server's handoff rate, not a client's retry delay). Reports
// handoffs/s and the idle gap: from the moment a release is acknowledged to the moment the next
// acquire is acknowledged (both seen by this process, on one hrtime clock).

import type { Target } from '../targets/target';
import { openDriver } from './lock_cycle';
import { percentiles } from './stats';

export interface ContendedResult {
  target: string;
  workload: 'contended';
  clients: number;
  holdMs: number;
  seconds: number;
  handoffs: number;
  handoffsPerSec: number;
  /** Refused acquires per second (the retry traffic the fight costs the server). */
  refusalsPerSec: number;
  idleGapP50Ms: number;
  idleGapP99Ms: number;
}

export async function runContended(target: Target, options: { clients?: number; holdMs?: number; seconds: number }): Promise<ContendedResult> {
  const clients = options.clients ?? 20;
  const holdMs = options.holdMs ?? 1;
  const driver = await openDriver(target, clients);
  const key = `contended:${process.pid}:${Date.now()}`;
  const gapsMs: number[] = [];
  let lastReleaseAt: bigint | null = null;
  let handoffs = 0;
  let refusals = 0;
  let measuring = false;
  let stop = false;
  const worker = async (w: number): Promise<void> => {
    const ops = driver.workers[w];
    const owner = `owner-${process.pid}-${w}`;
    while (!stop) {
      let acquired = false;
      try {
        acquired = await ops.acquire(key, owner);
      } catch {
        acquired = false;
      }
      if (!acquired) {
        if (measuring) refusals++;
        continue;
      }
      const acquiredAt = process.hrtime.bigint();
      if (measuring) {
        handoffs++;
        if (lastReleaseAt !== null) gapsMs.push(Number(acquiredAt - lastReleaseAt) / 1e6);
      }
      await new Promise((r) => setTimeout(r, holdMs));
      try {
        await ops.release(key, owner);
      } catch {
        // A failed release leaves the key to its 30 s TTL; the run shows that as a stall.
      }
      lastReleaseAt = process.hrtime.bigint();
    }
  };
  const running = driver.workers.map((_, w) => worker(w));
  await new Promise((r) => setTimeout(r, 500));
  measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, options.seconds * 1000));
  measuring = false;
  const elapsedSec = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  await Promise.all(running);
  await driver.close();
  const gaps = percentiles(gapsMs);
  return {
    target: target.name,
    workload: 'contended',
    clients,
    holdMs,
    seconds: elapsedSec,
    handoffs,
    handoffsPerSec: handoffs / elapsedSec,
    refusalsPerSec: refusals / elapsedSec,
    idleGapP50Ms: gaps.p50Ms,
    idleGapP99Ms: gaps.p99Ms,
  };
}
