// The queue of writes waiting for their entries: every write proposed is answered exactly once,
// with its own entry's reply, whatever the order of applies, snapshots and re-elections; answers
// reach their receivers after the code that gave them has returned, in the order given.

import t from 'tap';
import { WriteWaiter, WriteWaiters } from '../../src/server/write_waiters';
import { PendingReply, type ReplyReceiver } from '../../src/server/pending_reply';
import type { Reply } from '../../src/resp/reply';

const answers = new Map<string, Reply[]>();
const delivered: string[] = [];
const receiver: ReplyReceiver<string> = {
  receiveReply: (name, reply) => {
    answers.get(name)!.push(reply);
    delivered.push(name);
  },
};

function waiter(index: number, term: number): WriteWaiter {
  const name = `${index}@${term}`;
  answers.set(name, []);
  const w = new WriteWaiter(index, term, { kind: 'expire', db: 0, keys: [], timeMs: 0 }, 0);
  w.deliverTo(receiver, name);
  return w;
}

/** Lets the queued hand-over microtask run. */
const handedOver = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.beforeEach(() => {
  answers.clear();
  delivered.length = 0;
});

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
      if (w) waiters.answer(w, `applied ${applied}`);
    }
  }
  t.equal(waiters.size, proposed - applied);
  t.equal(delivered.length, 0, 'nothing is handed over while the applying code runs');
  await handedOver();
  t.equal(delivered.length, applied);
  t.ok(delivered.every((name, i) => name === `${i + 1}@1`), 'handed over in the order answered');
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
  waiters.answer(waiters.take(1, 'SKIPPED')!, 'applied');
  // Deposed, then elected again in term 4 with our log cut back to index 2: the next proposal is at 3.
  waiters.add(waiter(3, 4), 'REPLACED');
  await handedOver();
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
  waiters.answerUpTo(60, 'UNCERTAIN');
  t.equal(waiters.size, 40);
  await handedOver();
  t.same(answers.get('60@1'), ['UNCERTAIN']);
  t.same(answers.get('61@1'), []);
  // Applying resumes after the snapshot: a waiter left before the applied index is answered, never dropped.
  t.equal(waiters.take(63, 'SKIPPED')?.index, 63);
  await handedOver();
  t.same(answers.get('61@1'), ['SKIPPED']);
  t.same(answers.get('62@1'), ['SKIPPED']);
  waiters.answerUpTo(Number.MAX_SAFE_INTEGER, 'STOPPED');
  t.equal(waiters.size, 0);
  await handedOver();
  for (const [name, replies] of answers) if (replies.length !== (name === '63@1' ? 0 : 1)) t.fail(`${name} answered ${replies.length} times`);
});

t.test('a receiver that throws does not keep the answers after it from their receivers', async (t) => {
  const waiters = new WriteWaiters();
  const thrower = new WriteWaiter(1, 1, { kind: 'expire', db: 0, keys: [], timeMs: 0 }, 0);
  thrower.deliverTo({ receiveReply: () => { throw new Error('receiver failed'); } }, null);
  waiters.add(thrower, 'REPLACED');
  waiters.add(waiter(2, 1), 'REPLACED');
  const uncaught = new Promise<Error>((resolve) => process.once('uncaughtException', resolve));
  waiters.answerUpTo(2, 'UNCERTAIN');
  t.equal((await uncaught).message, 'receiver failed', 'the failure still surfaces');
  t.same(answers.get('2@1'), ['UNCERTAIN']);
});

t.test('a pending reply goes to its one receiver, whether it comes before or after the receiver', async (t) => {
  const early = new PendingReply();
  early.settle('first');
  early.settle('ignored');
  const got: Reply[] = [];
  early.deliverTo({ receiveReply: (_: null, reply) => got.push(reply) }, null);
  const late = new PendingReply();
  late.deliverTo({ receiveReply: (_: null, reply) => got.push(reply) }, null);
  t.same(got, ['first']);
  late.settle('second');
  t.same(got, ['first', 'second']);
  t.throws(() => late.deliverTo({ receiveReply: () => {} }, null), /one receiver/);
  const awaited = new PendingReply();
  setImmediate(() => awaited.settle('third'));
  t.equal(await awaited, 'third', 'await works, as for a Promise');
  t.equal(await Promise.resolve(1).then(() => { const p = new PendingReply(); p.settle(null); return p; }), null, 'a Promise adopts it');
});
