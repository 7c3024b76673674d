// Workload 2: Debian's redis-benchmark against the Redis-protocol targets (the quorumlock leader and
// both redis-servers), the classic `-t set` shape but with a lock's SET:
// `SET key:__rand_int__ v NX PX 30000`, random keys among 1M, 50 connections, without and with
// `-P 16` pipelining. Requests/s and latency percentiles come from its --csv output.

import { execFile } from 'node:child_process';
import type { Target } from '../targets/target';

export interface RedisBenchmarkResult {
  target: string;
  workload: 'redis_benchmark';
  clients: number;
  pipeline: number;
  requests: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export function runRedisBenchmark(target: Target, options: { clients: number; pipeline: number; requests: number }): Promise<RedisBenchmarkResult> {
  const args = [
    '-h', target.host, '-p', String(target.port), '-r', '1000000', '-c', String(options.clients), '-n', String(options.requests),
    '-P', String(options.pipeline), '--csv', 'SET', 'key:__rand_int__', 'v', 'NX', 'PX', '30000',
  ];
  return new Promise((resolve, reject) => {
    execFile('redis-benchmark', args, { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`redis-benchmark ${args.join(' ')}: ${error.message} ${stderr}`));
      const lines = stdout.trim().split('\n');
      const header = lines.findIndex((l) => l.startsWith('"test"'));
      if (header < 0 || !lines[header + 1]) return reject(new Error(`redis-benchmark: unexpected output ${stdout}`));
      const names = JSON.parse(`[${lines[header]}]`) as string[];
      const values = JSON.parse(`[${lines[header + 1]}]`) as string[];
      const field = (name: string): number => Number(values[names.indexOf(name)]);
      resolve({
        target: target.name,
        workload: 'redis_benchmark',
        clients: options.clients,
        pipeline: options.pipeline,
        requests: options.requests,
        requestsPerSec: field('rps'),
        p50Ms: field('p50_latency_ms'),
        p99Ms: field('p99_latency_ms'),
      });
    });
  });
}
