// CLI for the simulator: `npm run sim` runs SIM_SEEDS schedules (default 2000) from SIM_SEED
// (default 1), prints progress and a summary, and on the first failure prints the violation, the
// tail of its trace, and exactly one `reproduce:` line, then exits 1.
// Optional: SIM_BUG=noPreVoteTermCheck|commitPreviousTermByCounting|grantVoteTwice|countSelfBeforePersist|forgetLeaderClearsVote runs a broken
// core (to watch the checkers catch it); SIM_TICKS / SIM_LIVENESS_TICKS change schedule length.

import { runSchedule, type SimStats } from './simulator';
import type { RaftBugs } from '../../src/raft/raft_node';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

function main(): void {
  const first = envInt('SIM_SEED', 1);
  const count = envInt('SIM_SEEDS', 2000);
  const safetyTicks = envInt('SIM_TICKS', 150);
  const livenessTicks = envInt('SIM_LIVENESS_TICKS', 300);
  const bug = process.env.SIM_BUG;
  const bugs: RaftBugs | undefined = bug ? { [bug]: true } : undefined;
  const totals: Record<string, number> = {};
  const started = process.hrtime.bigint();
  const progressEvery = Math.max(1, Math.min(1000, Math.floor(count / 10)));
  for (let i = 0; i < count; i++) {
    const seed = first + i;
    const result = runSchedule({ seed, bugs, safetyTicks, livenessTicks, trace: count === 1 });
    for (const [k, v] of Object.entries(result.stats as unknown as Record<string, number>)) totals[k] = (totals[k] ?? 0) + v;
    if (!result.ok) {
      console.log(`FAIL seed ${seed}: ${result.error}`);
      if (result.trace.length > 0) {
        console.log('--- last events ---');
        for (const line of result.trace.slice(-80)) console.log(line);
      }
      console.log(`reproduce: SIM_SEED=${seed} SIM_SEEDS=1${bug ? ` SIM_BUG=${bug}` : ''} npm run sim`);
      process.exit(1);
    }
    if ((i + 1) % progressEvery === 0 && count > 1) {
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(`  ${i + 1}/${count} schedules ok (${secs.toFixed(1)} s)`);
    }
  }
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  const t = totals as unknown as SimStats;
  console.log(
    `sim: ${count} schedules from seed ${first} passed in ${secs.toFixed(1)} s (${(count / secs).toFixed(0)} schedules/s)\n` +
      `  ticks ${t.ticks}, messages ${t.messages} (dropped ${t.dropped}, duplicated ${t.duplicated})\n` +
      `  faults: crashes ${t.crashes}, restarts ${t.restarts}, partitions ${t.partitions}, pauses ${t.pauses}\n` +
      `  snapshots taken ${t.snapshots}, installed from leader ${t.snapshotsInstalled}, made on demand ${t.snapshotsOnDemand}, freed after release ${t.snapshotsFreed}, conf changes ${t.confChanges}, transfers ${t.transfers}, leaders forgotten ${t.leadersForgotten}, elections ${t.elections}, pipelined Readys ${t.pipelinedReadys}\n` +
      `  proposals ${t.proposals} (acknowledged ${t.acked}), linearizable reads ${t.reads} (served ${t.readsServed})`,
  );
}

main();
