// Writes proposed on this node, waiting for their entry to apply, in log order.
//
// A leader proposes at increasing indexes and applies in the same order, so the waiters form a
// queue: the one an applied entry is looking for is always at the front. A ring of slots does
// this without the hash table a Map rehashes as it fills and drains (on a busy leader, tens of
// MB of garbage per million writes).
//
// Each waiter is the PendingReply its client waits on. Answers are handed over in one microtask
// per batch, after the code that answered them has returned (as resolving a Promise did): a
// client that receives a reply may read more commands and propose again, which must not happen
// inside the apply loop.

import type { Reply } from '../resp/reply';
import type { LogCommand } from '../locks/types';
import { PendingReply } from './pending_reply';

export class WriteWaiter extends PendingReply {
  constructor(
    readonly index: number,
    readonly term: number,
    /** What was proposed: applied as it is when the entry at this index has this term (it is ours), not decoded again. */
    readonly command: LogCommand,
    /** performance.now() at proposal, for raft_write_latency_avg_usec. */
    readonly proposedAt: number,
  ) {
    super();
  }
}

export class WriteWaiters {
  /** A ring: `count` waiters from `head`, wrapping; the capacity (a power of two) doubles when full and never shrinks. */
  private slots: (WriteWaiter | undefined)[] = new Array<WriteWaiter | undefined>(64).fill(undefined);
  private head = 0;
  private count = 0;
  /** Answers not yet handed over, in order, and whether a microtask to hand them over is queued. */
  private answered: WriteWaiter[] = [];
  private answers: Reply[] = [];
  private handOverQueued = false;

  get size(): number {
    return this.count;
  }

  /**
   * Adds a waiter at the end. Waiters still queued at its index or later were proposed in an
   * earlier term as leader: another leader's entries have since replaced them in our log, and we
   * lead again before the step-down grace period answered them. Their entries may still be in
   * other nodes' logs and a later leader may commit them, so they are answered `replaced`
   * (unknown, not failed) rather than left to block their connections for good.
   */
  add(waiter: WriteWaiter, replaced: Reply): void {
    while (this.count > 0) {
      const lastAt = (this.head + this.count - 1) & (this.slots.length - 1);
      const last = this.slots[lastAt]!;
      if (last.index < waiter.index) break;
      this.slots[lastAt] = undefined;
      this.count--;
      this.answer(last, replaced);
    }
    if (this.count === this.slots.length) this.grow();
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = waiter;
    this.count++;
  }

  /**
   * The waiter for the entry at `index`, removed from the queue, or undefined. Entries apply in
   * order and a snapshot answers the waiters it covers, so none should be queued before `index`;
   * any that is gets `skipped` rather than a connection blocked for good.
   */
  take(index: number, skipped: Reply): WriteWaiter | undefined {
    while (this.count > 0) {
      const first = this.slots[this.head]!;
      if (first.index > index) return undefined;
      this.shift();
      if (first.index === index) return first;
      this.answer(first, skipped);
    }
    return undefined;
  }

  /** Answers, and removes, every waiter at an index <= `index`, in order. */
  answerUpTo(index: number, reply: Reply): void {
    while (this.count > 0 && this.slots[this.head]!.index <= index) this.answer(this.shift(), reply);
  }

  /** Gives `waiter` its reply, in a microtask shared by every answer given before it runs. */
  answer(waiter: WriteWaiter, reply: Reply): void {
    this.answered.push(waiter);
    this.answers.push(reply);
    if (this.handOverQueued) return;
    this.handOverQueued = true;
    queueMicrotask(this.handOver);
  }

  private readonly handOver = (): void => {
    this.handOverQueued = false;
    const answered = this.answered;
    const answers = this.answers;
    // Fresh arrays: a receiver may propose, and its write may be answered, while these are read.
    this.answered = [];
    this.answers = [];
    let failure: unknown = null;
    for (let i = 0; i < answered.length; i++) {
      try {
        answered[i].settle(answers[i]);
      } catch (error) {
        // Every other write still gets its answer; the failure surfaces as it would have from a
        // Promise reaction.
        failure ??= error;
      }
    }
    if (failure !== null) throw failure;
  };

  private shift(): WriteWaiter {
    const first = this.slots[this.head]!;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.count--;
    return first;
  }

  private grow(): void {
    const old = this.slots;
    const slots = new Array<WriteWaiter | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.count; i++) slots[i] = old[(this.head + i) & (old.length - 1)];
    this.slots = slots;
    this.head = 0;
  }
}
