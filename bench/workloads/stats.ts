// Latency percentiles from per-cycle samples (nearest-rank on the sorted samples).

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

export function percentiles(samplesMs: Float64Array | number[]): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const at = (q: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]);
  return { p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999) };
}

/** A monotonic clock in ms (fractional), for latencies and time-to-first-ack. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
