// A min-heap of (deadline, key) for one database: how the leader finds expired keys without
// scanning the keyspace.
//
// Invalidation is lazy: changing or removing a key's deadline leaves its old heap item in place,
// and whoever pops an item checks it against the keyspace. The heap is derived data (rebuilt on
// restore, never replicated), so it may hold stale items; the owner compacts it when they pile up.
// Two parallel arrays (a packed double array and a string array) keep it at ~16 bytes per item.

export class ExpiryHeap {
  private deadlines: number[] = [];
  private keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  push(deadlineMs: number, key: string): void {
    this.deadlines.push(deadlineMs);
    this.keys.push(key);
    this.siftUp(this.keys.length - 1);
  }

  peekDeadline(): number {
    return this.keys.length === 0 ? Infinity : this.deadlines[0];
  }

  peekKey(): string {
    return this.keys[0];
  }

  pop(): void {
    const last = this.keys.length - 1;
    if (last > 0) {
      this.deadlines[0] = this.deadlines[last];
      this.keys[0] = this.keys[last];
    }
    this.deadlines.pop();
    this.keys.pop();
    if (last > 1) this.siftDown(0);
  }

  /** Replaces the whole content (O(n) heapify): used to compact stale items. */
  rebuild(deadlines: number[], keys: string[]): void {
    this.deadlines = deadlines;
    this.keys = keys;
    this.heapify();
  }

  /** Keeps the items `keep` accepts, in one pass, and restores heap order (O(n)). */
  retain(keep: (deadlineMs: number, key: string) => boolean): void {
    let kept = 0;
    for (let i = 0; i < this.keys.length; i++) {
      if (!keep(this.deadlines[i], this.keys[i])) continue;
      this.deadlines[kept] = this.deadlines[i];
      this.keys[kept] = this.keys[i];
      kept++;
    }
    this.deadlines.length = kept;
    this.keys.length = kept;
    this.heapify();
  }

  /** Adds an item without restoring heap order: for a bulk load, which ends with heapify(). */
  append(deadlineMs: number, key: string): void {
    this.deadlines.push(deadlineMs);
    this.keys.push(key);
  }

  /** O(n) bottom-up heap construction (cheaper than n sift-ups). */
  heapify(): void {
    for (let i = (this.keys.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  clear(): void {
    this.deadlines = [];
    this.keys = [];
  }

  private siftUp(i: number): void {
    const d = this.deadlines[i];
    const k = this.keys[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.deadlines[parent] <= d) break;
      this.deadlines[i] = this.deadlines[parent];
      this.keys[i] = this.keys[parent];
      i = parent;
    }
    this.deadlines[i] = d;
    this.keys[i] = k;
  }

  private siftDown(i: number): void {
    const n = this.keys.length;
    const d = this.deadlines[i];
    const k = this.keys[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.deadlines[child + 1] < this.deadlines[child]) child++;
      if (this.deadlines[child] >= d) break;
      this.deadlines[i] = this.deadlines[child];
      this.keys[i] = this.keys[child];
      i = child;
    }
    this.deadlines[i] = d;
    this.keys[i] = k;
  }
}
