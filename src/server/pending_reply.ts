// A reply that comes later, handed over without a Promise.
//
// Every write a leader proposes waits for its entry to apply. As a Promise, that wait cost a
// promise, its two resolving functions and the executor's closure, then the client's two
// reactions, their closure and the promise `.then()` derives, alive as long as the write is in
// flight. With thousands in flight most of it survived to old space: loading 1M locks, the
// leader promoted 866-992 MB with Promises and 620-627 MB without (bench/README, the 2026-12-06
// notes). A PendingReply is one object with one receiver.
//
// One consumer per reply: either deliverTo() (the client connection, with its reply slot as the
// token) or then() (await, Promise adoption), once.

import type { Reply } from '../resp/reply';

/** A reply now, or one to wait for. */
export type ReplyOrLater = Reply | PendingReply | Promise<Reply>;

/** Who gets a PendingReply's reply, with the token it gave (a client connection and its reply slot). */
export interface ReplyReceiver<T> {
  receiveReply(token: T, reply: Reply): void;
}

// Waiting: neither reply nor receiver yet. Received: the receiver waits. Settled: the reply waits.
// Done: delivered.
const Waiting = 0;
const Received = 1;
const Settled = 2;
const Done = 3;

export class PendingReply implements PromiseLike<Reply> {
  private state = Waiting;
  private reply: Reply = null;
  private receiver: ReplyReceiver<unknown> | null = null;
  private token: unknown = undefined;

  /** The reply: to the receiver at once if one is set, else kept for it. Only the first call counts. */
  settle(reply: Reply): void {
    if (this.state === Waiting) {
      this.state = Settled;
      this.reply = reply;
    } else if (this.state === Received) {
      const receiver = this.receiver!;
      const token = this.token;
      this.state = Done;
      this.receiver = null;
      this.token = undefined;
      receiver.receiveReply(token, reply);
    }
  }

  /** Sets the one receiver: called at once if the reply is already here. */
  deliverTo<T>(receiver: ReplyReceiver<T>, token: T): void {
    if (this.state === Settled) {
      const reply = this.reply;
      this.state = Done;
      this.reply = null;
      receiver.receiveReply(token, reply);
    } else if (this.state === Waiting) {
      this.state = Received;
      this.receiver = receiver as ReplyReceiver<unknown>;
      this.token = token;
    } else {
      throw new Error('a PendingReply has one receiver');
    }
  }

  /** For `await` and Promise adoption: a Promise of the reply (takes the one receiver). */
  then<R1 = Reply, R2 = never>(
    onFulfilled?: ((reply: Reply) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return new Promise<Reply>((resolve) => this.deliverTo(resolvingReceiver, resolve)).then(onFulfilled, onRejected);
  }
}

const resolvingReceiver: ReplyReceiver<(reply: Reply) => void> = {
  receiveReply: (resolve, reply) => resolve(reply),
};
