// What the leader knows about each follower's log, and the flow control that decides what to send
// next (etcd's tracker/progress.go and inflights.go).
//
// probe:     we do not know where the follower's log matches ours; send one append, then wait for
//            its answer (or a heartbeat response) before sending the next.
// replicate: the follower is known to match up to `match`; stream appends optimistically
//            (pipelining), at most maxInflightMsgs unacknowledged messages at a time.
// snapshot:  the entries the follower needs are compacted away; send the snapshot in chunks and
//            nothing else until the follower reports it installed.

import assert from 'node:assert';
import type { Snapshot } from './types';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A ring buffer of the last index of each unacknowledged append, bounded by maxInflightMsgs. */
export class Inflights {
  private readonly buffer: number[];
  private start = 0;
  private count = 0;

  constructor(readonly size: number) {
    assert(size > 0, 'maxInflightMsgs must be positive');
    this.buffer = new Array<number>(size).fill(0);
  }

  add(lastIndex: number): void {
    assert(!this.full(), 'inflights overflow');
    this.buffer[(this.start + this.count) % this.size] = lastIndex;
    this.count++;
  }

  /** Frees every message whose last index is <= index (they are acknowledged). */
  freeLE(index: number): void {
    while (this.count > 0 && this.buffer[this.start] <= index) {
      this.start = (this.start + 1) % this.size;
      this.count--;
    }
  }

  full(): boolean {
    return this.count === this.size;
  }

  length(): number {
    return this.count;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** probe: an append is outstanding; replicate: the inflight window is full. */
  paused = false;
  /** The snapshot index being sent while in state 'snapshot'. */
  pendingSnapshot = 0;
  /**
   * The snapshot being sent, pinned: a leader that compacts again meanwhile keeps sending this
   * one, or a follower slower than the compaction rate would restart the transfer forever.
   */
  snapshot: Snapshot | null = null;
  /** Bytes of the snapshot the follower has acknowledged. */
  snapshotOffset = 0;
  /** Bytes of the snapshot sent so far (>= snapshotOffset; a small window runs ahead). */
  snapshotSent = 0;
  /** Offset the follower reported in its latest acknowledgement (may lag behind duplicates). */
  snapshotReported = 0;
  /** Heartbeat responses since an acknowledgement last moved snapshotOffset. */
  snapshotStallBeats = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  isLearner: boolean;
  /** Highest commit index sent in an append, to avoid empty appends that say nothing new. */
  sentCommit = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, isLearner: boolean) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflightMsgs);
  }

  private resetState(state: ProgressState): void {
    this.paused = false;
    this.pendingSnapshot = 0;
    this.snapshot = null;
    this.snapshotOffset = 0;
    this.snapshotSent = 0;
    this.snapshotReported = 0;
    this.snapshotStallBeats = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshot.meta.index;
    this.snapshot = snapshot;
  }

  /** An append was acknowledged up to n; returns whether match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.paused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * An append at `rejected` was refused; matchHint is the follower's guess of the last matching
   * index. Returns false when the rejection is stale (answers an append we no longer care about).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // Probing sends one append at a time, so a fresh rejection is for next - 1.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.paused = false;
    return true;
  }

  /** Records an append carrying `count` entries ending at lastIndex. */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
      this.paused = this.inflights.full();
    } else if (this.state === 'probe') {
      this.paused = true;
    } else {
      assert.fail(`sending an append in state ${this.state}`);
    }
  }

  isPaused(): boolean {
    if (this.state === 'snapshot') return true;
    return this.paused;
  }
}
