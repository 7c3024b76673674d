// `npm run faults`: the long fault run (default 10 minutes of load under the nemesis).
//
//   FAULTS_SECONDS=600   how long the clients run under faults
//   FAULTS_SEED=1234     replay a run's schedule (printed at the start of every run)
//   FAULTS_NEGATIVE_CLOCK=0  clock faults with positive offsets only
//   FAULTS_OUT=dir       where the history, chart and summary go (default: a new temp dir)
//   FAULTS_KINDS=a,b     only these fault kinds (see nemesis.ts)
//   FAULTS_UNSAFE=1      start the nodes with --test-unsafe-local-reads (the checker must fail)
//   FAULTS_CLUSTER_READONLY=1  let ioredis Cluster clients send READONLY to followers (its
//                        default; stale reads follow when it falls back to a replica, see clients.ts)
//
// Exit code 0 when every check passed, 1 on an anomaly (the seed, the history file and the
// smallest window of each anomaly are printed), 2 when the run itself broke.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runFaults } from './harness';
import { faultKinds, type FaultKind } from './nemesis';
import { seedFromEnv } from './prng';

async function main(): Promise<number> {
  const seed = seedFromEnv(process.env.FAULTS_SEED);
  const seconds = Number(process.env.FAULTS_SECONDS ?? 600);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`FAULTS_SECONDS must be a positive number, got ${process.env.FAULTS_SECONDS}`);
  const kinds = process.env.FAULTS_KINDS ? (process.env.FAULTS_KINDS.split(',') as FaultKind[]) : undefined;
  for (const kind of kinds ?? []) if (!faultKinds.includes(kind)) throw new Error(`unknown fault kind ${kind}; kinds: ${faultKinds.join(', ')}`);
  const outDir = process.env.FAULTS_OUT ?? fs.mkdtempSync(path.join(os.tmpdir(), `quorumlock-faults-${seed}-`));
  const started = Date.now();
  const result = await runFaults({ seed, durationMs: seconds * 1000, outDir, kinds, unsafeLocalReads: process.env.FAULTS_UNSAFE === '1', clusterReadonly: process.env.FAULTS_CLUSTER_READONLY === '1' });
  console.log(`${result.valid ? 'PASS' : 'FAIL'} in ${Math.round((Date.now() - started) / 1000)} s; replay: FAULTS_SEED=${seed} FAULTS_SECONDS=${seconds} npm run faults`);
  console.log(`history: ${result.historyFile}\nsummary: ${result.summaryFile}\nchart: ${result.chartFile}`);
  return result.valid ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`fault run broke: ${(error as Error).stack ?? String(error)}`);
    process.exit(2);
  },
);
