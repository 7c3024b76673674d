// The sorted-set value: members ordered by (score, member) like Redis's skiplist.
//
// Two parallel sorted arrays plus a member -> score map. Lookups and ranks are O(log n); an
// insert or removal is an O(n) splice, which is cheap for the small sets lock clients build
// (redis-semaphore keeps one member per holder). A skiplist would be the upgrade for big sets.

import type { ScoreBound } from './parse';

export class ZSetValue {
  readonly kind = 'zset' as const;
  readonly dict = new Map<string, number>();
  members: string[] = [];
  scores: number[] = [];

  get size(): number {
    return this.members.length;
  }

  score(member: string): number | undefined {
    return this.dict.get(member);
  }

  /** Adds a member that is not present. */
  insert(member: string, score: number): void {
    const at = this.lowerBound(score, member);
    this.members.splice(at, 0, member);
    this.scores.splice(at, 0, score);
    this.dict.set(member, score);
  }

  remove(member: string): boolean {
    const score = this.dict.get(member);
    if (score === undefined) return false;
    const at = this.lowerBound(score, member);
    this.members.splice(at, 1);
    this.scores.splice(at, 1);
    this.dict.delete(member);
    return true;
  }

  /** Removes the members at [start, end). */
  removeRange(start: number, end: number): number {
    if (end <= start) return 0;
    for (let i = start; i < end; i++) this.dict.delete(this.members[i]);
    this.members.splice(start, end - start);
    this.scores.splice(start, end - start);
    return end - start;
  }

  /** 0-based rank of a present member. */
  rank(member: string): number {
    const score = this.dict.get(member);
    if (score === undefined) return -1;
    return this.lowerBound(score, member);
  }

  /** First index whose element is >= (score, member). */
  private lowerBound(score: number, member: string): number {
    let lo = 0;
    let hi = this.members.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.scores[mid];
      if (s < score || (s === score && this.members[mid] < member)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose score is inside the range's lower bound. */
  firstAtLeast(min: ScoreBound): number {
    let lo = 0;
    let hi = this.scores.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.scores[mid];
      if (min.exclusive ? s <= min.value : s < min.value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** One past the last index whose score is inside the range's upper bound. */
  endAtMost(max: ScoreBound): number {
    let lo = 0;
    let hi = this.scores.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.scores[mid];
      if (max.exclusive ? s < max.value : s <= max.value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export class SetValue {
  readonly kind = 'set' as const;
  readonly members = new Set<string>();
}
