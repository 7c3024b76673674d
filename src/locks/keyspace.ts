// The replicated keyspace: databases of tagged values with deadlines and fencing tokens, the
// script cache, and the logical clock. Handlers receive it as their `state`.
//
// Every value is tagged by type. A string is stored as a bare JS string (its tag is its JS type:
// one object less per key, which matters at a million locks); every other type is an object with
// a `kind`. Locks taken with LOCK or with SET NX PX are strings whose value is the owner, so both
// APIs see one key as one owner. The kinds to come (a fair `lock` with a FIFO wait queue, `rwlock`,
// `semaphore`, session-owned ephemeral locks) join the union as further `kind`s; Entry already
// carries what they share: a deadline and the token of the entry that granted the current value.

import { assert } from './assert';
import { ExpiryHeap } from './expiry_heap';
import { keySlot, SLOT_COUNT } from './key_slot';
import type { SetValue, ZSetValue } from './zset';
import type { ExecContext, StateMachineEvents } from './types';
import type { ScriptEngine } from './scripting/types';
import type { CommandDef } from './command_spec';
import type { DataHandler } from './commands/define';

export type Value = string | ZSetValue | SetValue;
export type TypeName = 'string' | 'zset' | 'set';

export function typeOf(value: Value): TypeName {
  return typeof value === 'string' ? 'string' : value.kind;
}

/** Up to this many live deadlines, compactHeap() works from the heap's items (a Set of their keys). */
const HEAP_COMPACT_FROM_ITEMS_MAX = 8192;

/** 2^31: the deadline is split at this bit so that both halves are small integers. */
const DEADLINE_SPLIT = 0x80000000;

/** One key's record. `deadlineMs` is on the logical timeline (see state_machine.ts); 0 = no TTL. */
export class Entry {
  /**
   * The deadline as two small integers (ms = high * 2^31 + low). A deadline in ms since 1970 is
   * past 31 bits, and V8 keeps such a number in a heap box of its own: an Entry with one field for
   * it took 48 bytes plus a 16-byte box; with two it takes 56 (bench/locks_memory.ts).
   */
  private deadlineHigh = 0;
  private deadlineLow = 0;

  constructor(
    public value: Value,
    /** Log index of the entry that created this value or last changed it: a string lock's fencing token. */
    public token: number,
    deadlineMs: number,
  ) {
    this.deadlineMs = deadlineMs;
  }

  get deadlineMs(): number {
    return this.deadlineHigh * DEADLINE_SPLIT + this.deadlineLow;
  }

  set deadlineMs(deadlineMs: number) {
    if (!Number.isSafeInteger(deadlineMs)) {
      // Not a deadline resolveExpire() makes (whole ms within 2^53): kept whole, boxed, exact.
      this.deadlineHigh = 0;
      this.deadlineLow = deadlineMs;
      return;
    }
    const high = Math.floor(deadlineMs / DEADLINE_SPLIT);
    // `| 0` makes each half a small integer (0 <= low < 2^31, |high| <= 2^22): arithmetic on
    // boxed numbers gives a boxed number, even a whole one.
    this.deadlineHigh = high | 0;
    this.deadlineLow = (deadlineMs - high * DEADLINE_SPLIT) | 0;
  }
}

/** Pass as a deadline to keep the current one (SET KEEPTTL, APPEND, INCR). */
export const KEEP_TTL = -1;

/**
 * One database. Keys live in 16384 maps, one per hash slot, so that a SCAN cursor can be a slot
 * number: a key present for the whole scan is in the same slot on every call and is returned.
 */
export class Database {
  private slots: Array<Map<string, Entry> | undefined> | null = null;
  /** Number of keys, including expired ones not yet deleted (as Redis's DBSIZE). */
  size = 0;
  /** Keys with a deadline. */
  volatileCount = 0;
  /** String keys with a deadline: locks. */
  lockCount = 0;
  readonly heap = new ExpiryHeap();
  /** Set while a snapshot is restored: deadlines are appended unordered and heapified once at the end. */
  bulkLoading = false;
  /**
   * Set while a snapshot is being encoded a slice at a time (snapshot.ts, SnapshotEncoder): called
   * with a slot before any access to it, so the encoder can copy the slot as it was when the
   * snapshot began before a write changes it. Entries are only reached through get/add/remove, so
   * no value can change in place without passing here first.
   */
  beforeSlotAccess: ((slot: number) => void) | null = null;

  get(key: string): Entry | undefined {
    const slot = keySlot(key);
    if (this.beforeSlotAccess !== null) this.beforeSlotAccess(slot);
    return this.slots?.[slot]?.get(key);
  }

  /** Adds a key that is absent. */
  add(key: string, entry: Entry): void {
    if (this.slots === null) this.slots = new Array(SLOT_COUNT);
    const slot = keySlot(key);
    if (this.beforeSlotAccess !== null) this.beforeSlotAccess(slot);
    let map = this.slots[slot];
    if (map === undefined) map = this.slots[slot] = new Map();
    const sizeBefore = map.size;
    map.set(key, entry);
    assert(map.size === sizeBefore + 1, 'add of an existing key'); // one hash lookup, not two
    this.size++;
    if (entry.deadlineMs !== 0) this.countVolatile(key, entry, +1);
  }

  remove(key: string): boolean {
    const slot = keySlot(key);
    if (this.beforeSlotAccess !== null) this.beforeSlotAccess(slot);
    const map = this.slots?.[slot];
    const entry = map?.get(key);
    if (entry === undefined) return false;
    map!.delete(key);
    this.size--;
    if (entry.deadlineMs !== 0) this.countVolatile(key, entry, -1);
    return true;
  }

  /** Sets (or with 0 clears) the deadline of a present entry. */
  setDeadline(key: string, entry: Entry, deadlineMs: number): void {
    if (deadlineMs === entry.deadlineMs) return;
    if (this.beforeSlotAccess !== null) this.beforeSlotAccess(keySlot(key));
    if (entry.deadlineMs !== 0) this.countVolatile(key, entry, -1);
    entry.deadlineMs = deadlineMs;
    if (deadlineMs !== 0) this.countVolatile(key, entry, +1);
  }

  private countVolatile(key: string, entry: Entry, delta: 1 | -1): void {
    this.volatileCount += delta;
    if (typeof entry.value === 'string') this.lockCount += delta;
    if (delta === 1) {
      if (this.bulkLoading) return this.heap.append(entry.deadlineMs, key);
      this.heap.push(entry.deadlineMs, key);
      if (this.heap.size > 2 * this.volatileCount + 1024) this.compactHeap();
    }
  }

  /**
   * Drops the heap's stale items, amortized over at least volatileCount + 1024 pushes. With few
   * live deadlines (locks taken and released: the heap is mostly stale), from the heap's own items,
   * each checked against the keyspace; otherwise from the keyspace, which then costs no more than
   * the heap: walking all 16,384 slots to find a few dozen keys was 1.3% of a leader's CPU under
   * lock cycles (bench/README.md).
   */
  compactHeap(): void {
    if (this.volatileCount <= HEAP_COMPACT_FROM_ITEMS_MAX) {
      const kept = new Set<string>();
      this.heap.retain((deadlineMs, key) => {
        if (kept.has(key)) return false; // a key gets one item, as from the keyspace
        // A read: not get(), whose hook would make a snapshot in progress copy the slot.
        const entry = this.slots?.[keySlot(key)]?.get(key);
        if (entry === undefined || entry.deadlineMs !== deadlineMs) return false;
        kept.add(key);
        return true;
      });
      return;
    }
    const deadlines: number[] = [];
    const keys: string[] = [];
    for (const [key, entry] of this.entries()) {
      if (entry.deadlineMs === 0) continue;
      deadlines.push(entry.deadlineMs);
      keys.push(key);
    }
    this.heap.rebuild(deadlines, keys);
  }

  /** Ends a bulk load: the heap holds exactly the live deadlines, unordered; order them once. */
  endBulkLoad(): void {
    this.bulkLoading = false;
    this.heap.heapify();
  }

  /** Every key in slot order, then insertion order within a slot (deterministic across replicas). */
  *entries(): IterableIterator<[string, Entry]> {
    if (this.slots === null) return;
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const map = this.slots[slot];
      if (map !== undefined && map.size > 0) yield* map;
    }
  }

  /** Every key in slot order, sorted within a slot: independent of insertion history (for digests). */
  *sortedEntries(): IterableIterator<[string, Entry]> {
    if (this.slots === null) return;
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const map = this.slots[slot];
      if (map === undefined || map.size === 0) continue;
      const keys = [...map.keys()].sort();
      for (const key of keys) yield [key, map.get(key)!];
    }
  }

  /** The keys of one slot (SCAN's unit of work). */
  slotMap(slot: number): ReadonlyMap<string, Entry> | undefined {
    return this.slots?.[slot];
  }

  clear(): void {
    if (this.beforeSlotAccess !== null) for (let slot = 0; slot < SLOT_COUNT; slot++) this.beforeSlotAccess(slot);
    this.slots = null;
    this.size = 0;
    this.volatileCount = 0;
    this.lockCount = 0;
    this.heap.clear();
  }
}

export interface ScriptRecord {
  readonly body: string;
  /** Loaded by EVAL (evictable) rather than SCRIPT LOAD (kept until SCRIPT FLUSH), as in Redis 7.4. */
  fromEval: boolean;
}

/** The script cache is replicated state: EVALSHA must find the same scripts on every replica. */
export class ScriptCache {
  private readonly scripts = new Map<string, ScriptRecord>();
  bytes = 0;

  constructor(
    readonly countMax: number,
    readonly bytesMax: number,
  ) {}

  get size(): number {
    return this.scripts.size;
  }

  get(sha: string): ScriptRecord | undefined {
    return this.scripts.get(sha);
  }

  /** Marks an EVAL script as recently used (deterministic: only on the write path). */
  touch(sha: string): void {
    const record = this.scripts.get(sha);
    if (record === undefined || !record.fromEval) return;
    this.scripts.delete(sha);
    this.scripts.set(sha, record);
  }

  /** Adds a script, evicting the least recently used EVAL scripts over the caps; false if it cannot fit. */
  add(sha: string, body: string, fromEval: boolean): boolean {
    const existing = this.scripts.get(sha);
    if (existing !== undefined) {
      if (!fromEval) existing.fromEval = false;
      else this.touch(sha);
      return true;
    }
    while (this.scripts.size + 1 > this.countMax || this.bytes + body.length > this.bytesMax) {
      if (!this.evictOne()) return false;
    }
    this.scripts.set(sha, { body, fromEval });
    this.bytes += body.length;
    return true;
  }

  private evictOne(): boolean {
    for (const [sha, record] of this.scripts) {
      if (record.fromEval) {
        this.scripts.delete(sha);
        this.bytes -= record.body.length;
        return true;
      }
    }
    return false;
  }

  /** Re-adds a script from a snapshot, in its original (LRU) order, without cap checks. */
  restore(sha: string, body: string, fromEval: boolean): void {
    this.scripts.set(sha, { body, fromEval });
    this.bytes += body.length;
  }

  flush(): void {
    this.scripts.clear();
    this.bytes = 0;
  }

  entries(): IterableIterator<[string, ScriptRecord]> {
    return this.scripts.entries();
  }
}

/** Every size a client controls has a limit. */
export interface StateMachineLimits {
  /** Largest string value APPEND may build (Redis's proto-max-bulk-len). */
  readonly stringBytesMax: number;
  /** Script cache caps: beyond them the least recently used EVAL scripts are evicted. */
  readonly scriptsMax: number;
  readonly scriptBytesMax: number;
  /** Most keys one SCAN call examines, whatever COUNT asks (whole slots are returned, so a reply can exceed it). */
  readonly scanCountMax: number;
}

export const DEFAULT_LIMITS: StateMachineLimits = {
  stringBytesMax: 128 * 1024 * 1024,
  scriptsMax: 10_000,
  scriptBytesMax: 64 * 1024 * 1024,
  scanCountMax: 100_000,
};

/** What handlers reach beyond the data: not replicated, the same on every replica by construction. */
export interface KeyspaceEnv {
  readonly engine: ScriptEngine | null;
  readonly events: StateMachineEvents;
  readonly commands: ReadonlyMap<string, CommandDef<DataHandler>>;
  readonly limits: StateMachineLimits;
}

/**
 * The state the data-command handlers work on. `lookup` applies lazy expiry: an expired key is
 * absent; on the write path it is also deleted (every replica does the same at the same entry).
 */
export class Keyspace {
  readonly dbs: Database[];
  /** Logical time (ms): never goes backwards. */
  clockMs = 0;
  /** Wall time minus logical time; grows by the election timeout at each leader change. */
  offsetMs = 0;
  appliedIndex = 0;
  /** Cluster members' data-dir incarnations (see LogCommand 'member'); not a keyspace value. */
  readonly memberIncarnations = new Map<string, string>();

  constructor(
    databases: number,
    readonly scripts: ScriptCache,
    readonly env: KeyspaceEnv,
  ) {
    this.dbs = [];
    for (let i = 0; i < databases; i++) this.dbs.push(new Database());
  }

  get limits(): StateMachineLimits {
    return this.env.limits;
  }

  db(ctx: ExecContext): Database {
    return this.dbs[ctx.db];
  }

  lookup(ctx: ExecContext, key: string): Entry | undefined {
    const db = this.dbs[ctx.db];
    const entry = db.get(key);
    if (entry === undefined) return undefined;
    if (entry.deadlineMs !== 0 && entry.deadlineMs <= ctx.nowMs) {
      if (!ctx.readOnly) db.remove(key);
      return undefined;
    }
    return entry;
  }

  /**
   * Stores a string. `existing` is the live entry from lookup(). The token changes only when the
   * value does, so re-setting the same value (a redlock extend) keeps the lock's fencing token.
   * `deadlineMs`: 0 clears the TTL, KEEP_TTL keeps it.
   */
  writeString(ctx: ExecContext, key: string, existing: Entry | undefined, value: string, deadlineMs: number): Entry {
    const db = this.dbs[ctx.db];
    if (existing !== undefined && typeof existing.value === 'string') {
      if (existing.value !== value) {
        existing.value = value;
        existing.token = ctx.index;
      }
      if (deadlineMs !== KEEP_TTL) db.setDeadline(key, existing, deadlineMs);
      return existing;
    }
    // Replacing another type: KEEPTTL keeps that key's TTL, as Redis's setKey does.
    if (deadlineMs === KEEP_TTL) deadlineMs = existing !== undefined ? existing.deadlineMs : 0;
    if (existing !== undefined) db.remove(key);
    const entry = new Entry(value, ctx.index, deadlineMs);
    db.add(key, entry);
    return entry;
  }

  /** Deadlines are never 0 (that means "none") nor negative: a past deadline is kept as 1 ms. */
  static deadline(logicalMs: number): number {
    return logicalMs < 1 ? 1 : logicalMs;
  }
}
