// Proves the register linearizability checker accepts linearizable histories and rejects
// non-linearizable ones, on hand-built histories whose verdict is known: sequential and concurrent
// reads/writes/compare-and-deletes, a stale read, a lost write, and the unknown-outcome cases
// Jepsen's semantics decide (an unknown write may explain a later read, may never happen, but
// cannot take effect before it was invoked). Also that the minimal window of a long history that
// hides one stale read is that read and the write it missed, and that a large concurrent history
// is checked within the step budget.

import t from 'tap';
import { checkRegister, minimalWindow, type RegisterOp } from './linearizability';

let nextId = 0;
function op(f: RegisterOp['f'], value: string | null, invokeMs: number, completeMs: number | null, result: number | null = null): RegisterOp {
  return { id: nextId++, f, value, result, known: completeMs !== null, invokeMs, completeMs: completeMs ?? Infinity };
}
const w = (v: string, a: number, b: number | null) => op('write', v, a, b);
const r = (v: string | null, a: number, b: number) => op('read', v, a, b);
const cad = (v: string, res: number | null, a: number, b: number | null) => op('cad', v, a, b, res);

t.test('sequential histories', async (t) => {
  t.equal(checkRegister([w('1', 0, 1), r('1', 2, 3), w('2', 4, 5), r('2', 6, 7)]).valid, true, 'reads see the last write');
  t.equal(checkRegister([r(null, 0, 1), w('1', 2, 3), r(null, 4, 5)]).valid, false, 'a read after a completed write cannot see the old (absent) value');
  t.equal(checkRegister([w('1', 0, 1), w('2', 2, 3), r('1', 4, 5)]).valid, false, 'a stale read is rejected');
  t.equal(checkRegister([w('1', 0, 1), cad('1', 1, 2, 3), r(null, 4, 5)]).valid, true, 'compare-and-delete of the current value deletes');
  t.equal(checkRegister([w('1', 0, 1), cad('2', 0, 2, 3), r('1', 4, 5)]).valid, true, 'compare-and-delete of another value does nothing');
  t.equal(checkRegister([w('1', 0, 1), cad('1', 0, 2, 3)]).valid, false, 'compare-and-delete that misses the current value is rejected');
  t.equal(checkRegister([w('1', 0, 1), cad('2', 1, 2, 3)]).valid, false, 'compare-and-delete that deletes a value that is not there is rejected');
  t.equal(checkRegister([w('1', 0, 1), cad('1', 1, 2, 3), cad('1', 1, 4, 5)]).valid, false, 'one value cannot be deleted twice');
});

t.test('concurrent histories', async (t) => {
  t.equal(checkRegister([w('1', 0, 10), r('1', 1, 2), r(null, 3, 4)]).valid, false, 'once a read saw the write, a later read cannot miss it');
  t.equal(checkRegister([w('1', 0, 10), r(null, 1, 2), r('1', 3, 4)]).valid, true, 'a concurrent write may take effect between two reads');
  t.equal(checkRegister([w('1', 0, 10), w('2', 0, 10), r('2', 11, 12), r('2', 13, 14)]).valid, true, 'concurrent writes in either order');
  t.equal(checkRegister([w('1', 0, 10), w('2', 0, 10), r('2', 11, 12), r('1', 13, 14)]).valid, false, 'but one order for everybody');
  t.equal(
    checkRegister([w('a', 0, 1), cad('a', 1, 2, 10), w('b', 3, 4), r(null, 11, 12)]).valid,
    false,
    'a compare-and-delete that deleted the old value took effect before the overlapping write, so a later read must see that write',
  );
});

t.test('unknown outcomes (Jepsen semantics)', async (t) => {
  t.equal(checkRegister([w('1', 0, null), r('1', 100, 101)]).valid, true, 'an unknown write may take effect long after it was sent');
  t.equal(checkRegister([w('1', 0, null), r(null, 100, 101)]).valid, true, 'or never');
  t.equal(checkRegister([w('1', 0, null), r(null, 100, 101), r('1', 200, 201), r(null, 300, 301)]).valid, false, 'but not twice');
  t.equal(checkRegister([r('1', 0, 1), w('1', 5, null)]).valid, false, 'and never before it was invoked');
  t.equal(checkRegister([w('1', 0, 1), w('2', 2, null), r('2', 5, 6), r('1', 7, 8)]).valid, false, 'an unknown write that was read is in effect from then on');
  t.equal(checkRegister([w('1', 0, 1), cad('1', null, 2, null), r('1', 5, 6), r(null, 7, 8)]).valid, true, 'an unknown compare-and-delete may happen late');
  t.equal(checkRegister([w('1', 0, 1), cad('1', null, 2, null), r(null, 5, 6), r('1', 7, 8)]).valid, false, 'but cannot be undone');
  const withoutUnknown = checkRegister([w('1', 0, 1), r('2', 5, 6)]).valid;
  const withUnknown = checkRegister([w('1', 0, 1), w('2', 3, null), r('2', 5, 6)]).valid;
  t.same([withoutUnknown, withUnknown], [false, true], 'a read of a value only an unknown write wrote is explained by that write');
  t.equal(checkRegister([w('2', 0, null), w('1', 10, 11), r('1', 12, 13), r('2', 14, 15), r('1', 16, 17)]).valid, false, 'an unknown write takes effect at one point only');
  t.equal(checkRegister([r('1', 0, 1), w('1', 2, 3)], { initial: 'any' }).valid, true, 'a window may start in any state');
  t.equal(checkRegister([r('1', 0, 1), r('2', 2, 3)], { initial: 'any' }).valid, false, 'but in one state');
});

t.test('the minimal window of a long history is the anomaly', async (t) => {
  const ops: RegisterOp[] = [];
  let time = 0;
  for (let i = 0; i < 200; i++) {
    ops.push(w(`v${i}`, time, time + 5));
    ops.push(r(`v${i}`, time + 6, time + 8));
    time += 10;
  }
  // One stale read in the middle: after v120 was written and read, a read returns v119.
  const stale = r('v119', 120 * 10 + 9, 120 * 10 + 9.5);
  ops.push(stale);
  ops.sort((x, y) => x.invokeMs - y.invokeMs);
  const result = checkRegister(ops);
  t.equal(result.valid, false, 'the long history is rejected');
  const window = minimalWindow(ops);
  t.ok(window.ids.includes(stale.id), 'the window holds the stale read');
  t.ok(window.ids.length <= 4, `the window is small (${window.ids.length} ops: ${window.ids.join(',')})`);
  const clean = ops.filter((o) => o !== stale);
  t.equal(checkRegister(clean).valid, true, 'without the stale read the history is linearizable');
});

t.test('a large concurrent history with unknown writes is decided within the step budget', async (t) => {
  // 10 clients, 2000 ops: writes of unique values, reads that see the latest completed write,
  // one in 20 writes timing out but applied anyway.
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const ops: RegisterOp[] = [];
  let current: string | null = null;
  let time = 0;
  for (let i = 0; i < 2000; i++) {
    time += rand() * 2;
    const invoke = time;
    const effect = invoke + rand() * 3;
    const complete = effect + rand() * 3;
    if (rand() < 0.5) {
      current = `x${i}`;
      ops.push(w(current, invoke, rand() < 0.05 ? null : complete));
    } else {
      ops.push(r(current, invoke, complete));
    }
  }
  // Reads saw the value at their effect time, in effect order (ops are generated in effect order).
  const result = checkRegister(ops, { stepsMax: 5_000_000 });
  t.equal(result.valid, true, `accepted in ${result.steps} steps`);
});
