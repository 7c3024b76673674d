// Re-checks the registers of a recorded history, without a cluster: `node
// dist/test/faults/check.js <history.jsonl> [key]`. Prints each key that is not linearizable with
// its smallest window, so an anomaly can be studied (or a checker change tried) on a saved run.

import { describeOp, readHistory, type Op } from './history';
import { checkRegister, minimalWindow, toRegisterOps } from './linearizability';

function main(): number {
  const [file, only] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/test/faults/check.js <history.jsonl> [key]');
    return 2;
  }
  const { header, ops } = readHistory(file);
  const byKey = new Map<string, Op[]>();
  for (const op of ops) {
    if ((op.workload !== 'register' && op.workload !== 'final') || (only && op.key !== only)) continue;
    byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
  }
  let bad = 0;
  for (const [key, list] of byKey) {
    const registerOps = toRegisterOps(list);
    const verdict = checkRegister(registerOps);
    if (verdict.valid === true) continue;
    bad++;
    if (verdict.valid === 'unknown') {
      console.log(`${key}: inconclusive (${verdict.reason})`);
      continue;
    }
    const window = minimalWindow(registerOps);
    const byId = new Map(list.map((op) => [op.id, op]));
    console.log(`${key}: not linearizable; smallest window ${window.a}..${window.b} ms:`);
    for (const id of window.ids) console.log(`  ${describeOp(byId.get(id)!)}`);
  }
  console.log(`seed ${String(header.seed)}: ${byKey.size} register keys, ${bad} not linearizable or inconclusive`);
  return bad === 0 ? 0 : 1;
}

process.exit(main());
