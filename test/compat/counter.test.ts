// Proves the contention workload every compatibility test runs can fail: the same 20 contenders
// doing the same read-pause-write of a shared counter, with no lock, against the same target,
// lose updates (the final count comes out short) and overlap in their critical sections. So a
// lock test that reports exactly contenders x iterations shows real mutual exclusion.

import t from 'tap';
import { startTarget } from './target';
import { runContention, unlocked, CONTENDERS } from './harness';

t.test('without a lock the counter workload loses updates', async (t) => {
  const target = await startTarget(t);
  const result = await runContention(t, target, 'control:counter', Array.from({ length: CONTENDERS }, () => unlocked));
  t.ok(result.maxConcurrent > 1, `critical sections overlapped (${result.maxConcurrent} at once)`);
  t.ok(result.count < result.expected, `updates were lost: ${result.count} < ${result.expected}`);
});
