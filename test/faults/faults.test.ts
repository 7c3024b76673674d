// Proves, on a real 5-node cluster under the nemesis, that the product keeps its promises, and
// that the checkers would notice if it did not.
//
// 1. A short fault run (75 s of load; the nemesis draws every fault kind from one printed seed,
//    FAULTS_SEED replays it): every register key is linearizable, no two lock holders overlap and
//    tokens only grow, every acknowledged unique write is on every node after healing, every node
//    holds the same data, and the nemesis's own steps (restarts, membership changes) all finished.
// 2. The same harness against nodes started with --test-unsafe-local-reads (a deliberate bug:
//    every read is served from the local state) while a follower that plain clients read from is
//    cut off from the others: the linearizability checker must report the stale reads, with a
//    window of operations that shows one.

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runFaults, type ScenarioContext } from './harness';
import { seedFromEnv } from './prng';
import { setTimeout as sleep } from 'node:timers/promises';

t.test('a 75-second run under every kind of fault passes every check', async (t) => {
  const seed = seedFromEnv(process.env.FAULTS_SEED);
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), `quorumlock-faults-${seed}-`));
  const result = await runFaults({ seed, durationMs: 75_000, outDir, holdMs: [2000, 6000], restMs: [500, 2500], log: (line) => t.comment(line) });
  const summary = result.summary as { opsByType: Record<string, { ok: number }>; faultsByKind: Record<string, unknown>; uniqueAcked: number; lockAcquisitions: number };
  t.ok(summary.opsByType['register:read']?.ok > 500 && summary.opsByType['register:write']?.ok > 500, 'the register workload ran (reads and writes acknowledged)');
  t.ok(summary.lockAcquisitions > 100 && summary.uniqueAcked > 500, `the lock and unique-write workloads ran (${summary.lockAcquisitions} holds, ${summary.uniqueAcked} writes)`);
  t.ok(Object.keys(summary.faultsByKind).filter((k) => k !== 'heal').length >= 4, `faults of several kinds were injected (${Object.keys(summary.faultsByKind).join(', ')})`);
  t.same(result.anomalies, [], `no anomaly (FAULTS_SEED=${seed}, history ${result.historyFile})`);
  t.same(result.nemesisErrors, [], 'every fault was injected and healed (nodes restarted, members re-added)');
  if (result.valid && t.passing()) fs.rmSync(outDir, { recursive: true, force: true });
});

t.test('with --test-unsafe-local-reads and a follower cut off, the checker reports stale reads', async (t) => {
  const seed = 7;
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlock-faults-unsafe-'));
  let isolated = '';
  const scenario = async ({ cluster, clients, history }: ScenarioContext): Promise<void> => {
    // A follower that a plain register client reads from, cut off from everyone.
    const leader = (await cluster.leader()).id;
    const plain = clients.filter((c) => c.workload === 'register' && c.via.startsWith('plain:')).map((c) => c.via.slice('plain:'.length));
    isolated = plain.find((id) => id !== leader)!;
    await sleep(2000);
    const fault = history.fault('partition', `${isolated} | the others (drop)`);
    await cluster.isolate(isolated, 'drop');
    await sleep(8000);
    await cluster.heal();
    history.endFault(fault);
    await sleep(1000);
  };
  const result = await runFaults({ seed, durationMs: 11_000, outDir, unsafeLocalReads: true, scenario, log: (line) => t.comment(line) });
  const stale = result.anomalies.filter((a) => a.checker === 'linearizability');
  t.ok(stale.length > 0, `the checker reports non-linearizable registers (${stale.length} keys)`);
  t.ok(
    stale.some((a) => a.window.some((line) => line.includes(`plain:${isolated}`) && line.includes(' read '))),
    `a reported window holds a read through the cut-off follower ${isolated}`,
  );
  t.ok(stale.every((a) => a.window.length > 0 && a.window.length <= 60), 'every window is small enough to read');
  t.comment(`first window:\n${stale[0]?.window.join('\n')}`);
  fs.rmSync(outDir, { recursive: true, force: true });
});
