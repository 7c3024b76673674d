// The node's log in memory (etcd's raftLog + MemoryStorage + unstable, folded into one array):
// a compacted prefix summarised by (snapIndex, snapTerm), then every entry after it, the index
// bookkeeping around them (committed, what was handed to the driver to persist and to apply),
// and a snapshot received from the leader that the driver has not seen yet.
//
// Index invariants: snapIndex <= applied <= applying <= committed <= lastIndex, and
// entries[i].index === snapIndex + 1 + i.

import assert from 'node:assert';
import type { Entry, Snapshot, SnapshotMeta } from './types';

export class RaftLog {
  snapIndex = 0;
  snapTerm = 0;
  private entries: Entry[] = [];
  committed = 0;
  /** Last index handed to the driver in Ready.committedEntries. */
  applying = 0;
  /** Last index the driver confirmed applied (advance()). */
  applied = 0;
  /** Last index handed to the driver in Ready.entries for persistence. */
  handed = 0;
  /**
   * Last index known durable: the driver persisted it and called advance(). A leader counts its
   * own copy towards a commit only up to here, so it can send entries to followers while its own
   * fsync is still running (Raft thesis 10.2.1) without ever counting an entry it could lose.
   */
  stable = 0;
  /** A snapshot from the leader, installed here, not yet handed to the driver. */
  unstableSnapshot: Snapshot | null = null;

  constructor(snapshotMeta: SnapshotMeta | null, entries: readonly Entry[], commit: number, applied: number) {
    if (snapshotMeta) {
      this.snapIndex = snapshotMeta.index;
      this.snapTerm = snapshotMeta.term;
    }
    for (const [i, e] of entries.entries()) {
      assert.equal(e.index, this.snapIndex + 1 + i, `persisted entries are not contiguous after the snapshot at ${e.index}`);
    }
    this.entries = entries.slice();
    this.committed = Math.max(commit, this.snapIndex);
    assert(this.committed <= this.lastIndex(), `persisted commit ${commit} is past the last index ${this.lastIndex()}`);
    this.applied = Math.min(Math.max(applied, this.snapIndex), this.committed);
    this.applying = this.applied;
    this.handed = this.lastIndex();
    this.stable = this.lastIndex();
  }

  firstIndex(): number {
    return this.snapIndex + 1;
  }

  lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length === 0 ? this.snapTerm : this.entries[this.entries.length - 1].term;
  }

  /** Term of the entry at i, or undefined when i is compacted away or beyond the log. */
  term(i: number): number | undefined {
    if (i === this.snapIndex) return this.snapTerm;
    if (i < this.snapIndex || i > this.lastIndex()) return undefined;
    return this.entries[i - this.snapIndex - 1].term;
  }

  entry(i: number): Entry | undefined {
    if (i <= this.snapIndex || i > this.lastIndex()) return undefined;
    return this.entries[i - this.snapIndex - 1];
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Raft 5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Index of the first entry of `ents` that is new or conflicts with ours; 0 when all match. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest (index, term) at or below `index` whose term is <= `term`: where our log may
   * match a leader whose entry at `index` has `term`. Lets the leader skip whole terms on reject.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      const ourTerm = this.term(index);
      if (ourTerm === undefined) return { index, term: 0 };
      if (ourTerm <= term) return { index, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  /** Appends, first truncating any suffix from ents[0].index on. Never truncates committed entries. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const first = ents[0].index;
    assert(first > this.committed, `truncating committed entry ${first} (committed ${this.committed})`);
    assert(first <= this.lastIndex() + 1, `gap in log: appending ${first} after ${this.lastIndex()}`);
    this.entries.length = first - this.snapIndex - 1;
    for (const e of ents) this.entries.push(e);
    if (this.handed >= first) this.handed = first - 1;
    if (this.stable >= first) this.stable = first - 1;
    return this.lastIndex();
  }

  /**
   * The follower side of AppendEntries: if our log matches (prevIndex, prevTerm), append what is
   * new and move commit; returns the last index now known to match, or -1 on mismatch.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, ents: readonly Entry[]): number {
    if (!this.matchTerm(prevIndex, prevTerm)) return -1;
    const lastNewIndex = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      assert(conflict > this.committed, `entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      this.append(ents.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex));
    return lastNewIndex;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} is out of range [last ${this.lastIndex()}]`);
    this.committed = index;
  }

  /** Leader commit rule (5.4.2): only an entry of the current term commits by counting. */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  /** Entries from `lo` on, at most maxBytes of data (but always at least one entry if any). */
  entriesFrom(lo: number, maxBytes: number): Entry[] {
    assert(lo > this.snapIndex, `entries from ${lo} are compacted (snapshot at ${this.snapIndex})`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo - this.snapIndex - 1; i < this.entries.length; i++) {
      const e = this.entries[i];
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  hasUnhanded(): boolean {
    return this.handed < this.lastIndex();
  }

  takeUnhanded(): Entry[] {
    if (!this.hasUnhanded()) return [];
    const from = Math.max(this.handed, this.snapIndex) + 1;
    const out = this.entries.slice(from - this.snapIndex - 1);
    this.handed = this.lastIndex();
    return out;
  }

  /** Whether committed entries up to `limit` (default: all) wait to be handed out for applying. */
  hasCommittedToApply(limit = Number.MAX_SAFE_INTEGER): boolean {
    return Math.min(this.committed, limit) > this.applying;
  }

  takeCommitted(limit = Number.MAX_SAFE_INTEGER): Entry[] {
    if (!this.hasCommittedToApply(limit)) return [];
    const to = Math.min(this.committed, limit);
    const out = this.entries.slice(this.applying - this.snapIndex, to - this.snapIndex);
    this.applying = to;
    return out;
  }

  /** Committed but not yet applied entries (for hasUnappliedConfChanges). */
  unappliedCommitted(): Entry[] {
    return this.entries.slice(Math.max(this.applied, this.snapIndex) - this.snapIndex, this.committed - this.snapIndex);
  }

  /**
   * The driver made (index, term) durable. Ignored when the log no longer holds that entry (it
   * was overwritten while the write ran); by log matching, a match means every entry up to index
   * is the one persisted.
   */
  stableTo(index: number, term: number): void {
    if (index > this.stable && this.term(index) === term) this.stable = index;
  }

  /** Installs a leader's snapshot: the whole log is replaced. */
  restore(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    assert(index > this.committed, 'restoring a snapshot older than the commit index');
    this.entries = [];
    this.snapIndex = index;
    this.snapTerm = term;
    this.committed = index;
    this.applying = index;
    this.handed = index;
    // Durable again once the driver has saved the snapshot (stableTo at advance()).
    this.stable = Math.min(this.stable, index - 1);
    this.unstableSnapshot = snapshot;
  }

  /** Drops entries up to `index` (inclusive) after the driver snapshotted the state machine there. */
  compact(index: number): void {
    assert(index <= this.applying, `compacting ${index} beyond the applied index ${this.applying}`);
    if (index <= this.snapIndex) return;
    const term = this.term(index);
    assert(term !== undefined);
    this.entries = this.entries.slice(index - this.snapIndex);
    this.snapIndex = index;
    this.snapTerm = term;
    if (this.handed < index) this.handed = index;
  }
}
