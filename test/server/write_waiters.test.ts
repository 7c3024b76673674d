// The queue of writes waiting for their entries: every write proposed is answered exactly once,
// with its own entry's reply, whatever the order of applies, snapshots and re-elections.

import t from 'tap';
import { WriteWaiters, type WriteWaiter } from '../../src/server/write_waiters';
import type { Reply } from '../../src/resp/reply';

const answers = new Map<string, Reply[]>();

function waiter(index: number, term: number): WriteWaiter {
  const name = `${index}@${term}`;
  answers.set(name, []);
  return { index, term, proposedAt: 0, command: { kind: 'expire', db: 0, keys: [], timeMs: 0 }, resolve: (reply) => answers.get(name)!.push(reply) };
}

t.beforeEach(() => answers.clear());

t.test('applies find their waiters in order, across many wraps and growths of the ring', async (t) => {
  const waiters = new WriteWaiters();
  let proposed = 0;
  let applied = 0;
  // In flight rises to 1,000 then drains, several times: the ring grows past its first 64 slots and wraps.
  for (let round = 0; round < 5; round++) {
    while (proposed - applied < 1000) waiters.add(waiter(++proposed, 1), 'REPLACED');
    t.equal(waiters.size, 1000);
    while (applied < proposed - (round % 2 === 0 ? 0 : 7)) {
      const w = waiters.take(++applied, 'SKIPPED');
      if (w?.index !== applied) t.fail(`take(${applied}) gave ${w?.index}`);
      w?.resolve(`applied ${applied}`);
    }
  }
  t.equal(waiters.size, proposed - applied);
  for (const [name, replies] of answers) if (Number(name.split('@')[0]) <= applied && replies.join() !== `applied ${name.split('@')[0]}`) t.fail(`${name}: ${replies}`);
  t.equal(waiters.take(applied + 1000, 'SKIPPED')?.index, undefined, 'nothing at an index never proposed');
});

t.test('an entry with no waiter here (a follower, or a write from another node) takes nothing', async (t) => {
  const waiters = new WriteWaiters();
  waiters.add(waiter(10, 1), 'REPLACED');
  t.equal(waiters.take(9, 'SKIPPED'), undefined);
  t.equal(waiters.size, 1);
  t.equal(waiters.take(10, 'SKIPPED')?.index, 10);
});

t.test('leading again at a lower index answers the replaced writes as unknown, once each', async (t) => {
  const waiters = new WriteWaiters();
  for (let i = 1; i <= 5; i++) waiters.add(waiter(i, 2), 'REPLACED');
  waiters.take(1, 'SKIPPED')!.resolve('applied');
  // Deposed, then elected again in term 4 with our log cut back to index 2: the next proposal is at 3.
  waiters.add(waiter(3, 4), 'REPLACED');
  t.same(answers.get('3@2'), ['REPLACED']);
  t.same(answers.get('4@2'), ['REPLACED']);
  t.same(answers.get('5@2'), ['REPLACED']);
  t.same(answers.get('2@2'), [], 'the write below the new index still waits for its entry');
  t.equal(waiters.size, 2);
  t.equal(waiters.take(2, 'SKIPPED')?.term, 2);
  t.equal(waiters.take(3, 'SKIPPED')?.term, 4);
});

t.test('a snapshot or a step-down answers every write up to its index, and only those', async (t) => {
  const waiters = new WriteWaiters();
  for (let i = 1; i <= 100; i++) waiters.add(waiter(i, 1), 'REPLACED');
  waiters.resolveUpTo(60, 'UNCERTAIN');
  t.equal(waiters.size, 40);
  t.same(answers.get('60@1'), ['UNCERTAIN']);
  t.same(answers.get('61@1'), []);
  // Applying resumes after the snapshot: a waiter left before the applied index is answered, never dropped.
  t.equal(waiters.take(63, 'SKIPPED')?.index, 63);
  t.same(answers.get('61@1'), ['SKIPPED']);
  t.same(answers.get('62@1'), ['SKIPPED']);
  waiters.resolveUpTo(Number.MAX_SAFE_INTEGER, 'STOPPED');
  t.equal(waiters.size, 0);
  for (const [name, replies] of answers) if (replies.length !== (name === '63@1' ? 0 : 1)) t.fail(`${name} answered ${replies.length} times`);
});
