// The index range and terms of the entries the storage holds, kept in memory as runs of equal
// terms. save() needs the term of the entry at a new snapshot's index (to keep the entries after
// it or discard them) without reading the log back from disk; a log's term changes only at each
// new leader, so one run per term costs next to nothing.

import assert from 'node:assert';
import type { Entry } from '../types';

export class TermRuns {
  /** First index held; the range is empty when first > last (first is then the next index). */
  first: number;
  last: number;
  /** [first index, term] of each run, in index order; runs[0][0] may be below `first`. */
  private runs: Array<[number, number]>;

  private constructor(first: number, last: number, runs: Array<[number, number]>) {
    this.first = first;
    this.last = last;
    this.runs = runs;
  }

  /** An empty range whose next index is `next`. */
  static empty(next: number): TermRuns {
    return new TermRuns(next, next - 1, []);
  }

  /** The range of `entries` (contiguous), or empty with next index `next` if there are none. */
  static of(entries: readonly Entry[], next: number): TermRuns {
    const runs = TermRuns.empty(next);
    if (entries.length > 0) runs.append(entries);
    return runs;
  }

  clone(): TermRuns {
    return new TermRuns(this.first, this.last, this.runs.map((r) => [r[0], r[1]]));
  }

  get isEmpty(): boolean {
    return this.first > this.last;
  }

  /** The term of entry `index`, or undefined if it is not held. */
  termAt(index: number): number | undefined {
    if (index < this.first || index > this.last) return undefined;
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runs[mid][0] <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.runs[lo][1];
  }

  /** Contiguous entries replacing every held entry from entries[0].index on. */
  append(entries: readonly Entry[]): void {
    const from = entries[0].index;
    if (this.isEmpty || from <= this.first) {
      this.runs = [];
      this.first = from;
    } else {
      assert(from <= this.last + 1, `entries start at ${from}, leaving a gap after ${this.last}`);
      while (this.runs.length > 0 && this.runs[this.runs.length - 1][0] >= from) this.runs.pop();
    }
    for (const entry of entries) {
      const tail = this.runs[this.runs.length - 1];
      if (tail === undefined || tail[1] !== entry.term) this.runs.push([entry.index, entry.term]);
    }
    this.last = entries[entries.length - 1].index;
  }

  /** Drops the entries up to `index` (a snapshot's), keeping the later ones. */
  dropThrough(index: number): void {
    if (index >= this.last) {
      this.clear(index + 1);
      return;
    }
    if (index < this.first) return;
    while (this.runs.length > 1 && this.runs[1][0] <= index + 1) this.runs.shift();
    this.first = index + 1;
  }

  /** Drops every entry; the next index becomes `next`. */
  clear(next: number): void {
    this.runs = [];
    this.first = next;
    this.last = next - 1;
  }
}
