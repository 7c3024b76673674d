// Snapshot encoding of the whole keyspace, and a digest of it.
//
// The snapshot is a sequence of msgpack values in one buffer: a header (clock, offset, applied
// index, script cache, key count), then chunks of keys. Packing chunk by chunk keeps the transient
// heap small at a million keys. Deadlines stay on the logical timeline, with the offset beside them.
//
// Two kinds of chunk (version 2; a version 1 snapshot has only the first):
// - an array [db, key, type, value, token, deadline, key, ...] for any value (sets, sorted sets);
// - a msgpack bin holding a run of string-valued keys of one database, written by hand:
//     u8 db, then per key: u32 key bytes, key (UTF-8), u32 value bytes, value, f64 token, f64 deadline.
//   Strings (every lock) are nearly all of a lock server's keyspace, and this form takes a third of
//   msgpackr's time to write and to read (1M locks: bench/locks_memory.ts): a snapshot runs on the
//   event loop (in slices, SnapshotEncoder below), so its time is CPU taken from clients.
//   UTF-8 as msgpack's own strings: binary strings round-trip as they do through the log.

import { createHash } from 'node:crypto';
import { Packr, unpackMultiple } from 'msgpackr';
import { assert } from './assert';
import { Entry, Keyspace, ScriptCache, type KeyspaceEnv, type Value } from './keyspace';
import { SLOT_COUNT } from './key_slot';
import { SetValue, ZSetValue } from './zset';

const FORMAT = 'quorumlock-keyspace';
const VERSION = 2;
const CHUNK_KEYS = 8192;
/** A string chunk is closed once it holds this much (it is one msgpack bin32 value). */
const STRING_CHUNK_BYTES = 1 << 20;
const T_STRING = 0;
const T_ZSET = 1;
const T_SET = 2;

const packr = new Packr({ useRecords: false, moreTypes: false });

interface Header {
  format: string;
  version: number;
  databases: number;
  appliedIndex: number;
  clockMs: number;
  offsetMs: number;
  keys: number;
  scripts: Array<[string, string, boolean]>;
  /** Absent in snapshots written before the member registry existed. */
  members?: Array<[string, string]>;
}

/** Appends a value as (type, payload) to a chunk. */
function pushValue(chunk: unknown[], value: Value): void {
  if (typeof value === 'string') {
    chunk.push(T_STRING, value);
  } else if (value.kind === 'zset') {
    const flat: unknown[] = [];
    for (let i = 0; i < value.members.length; i++) flat.push(value.members[i], value.scores[i]);
    chunk.push(T_ZSET, flat);
  } else {
    chunk.push(T_SET, [...value.members]);
  }
}

function decodeValue(type: number, raw: unknown): Value {
  if (type === T_STRING) {
    assert(typeof raw === 'string', 'snapshot: string value expected');
    return raw;
  }
  assert(Array.isArray(raw), 'snapshot: array value expected');
  if (type === T_ZSET) {
    const zset = new ZSetValue();
    for (let i = 0; i < raw.length; i += 2) {
      const member = raw[i] as string;
      const score = raw[i + 1] as number;
      zset.members.push(member);
      zset.scores.push(score);
      zset.dict.set(member, score);
    }
    return zset;
  }
  assert(type === T_SET, `snapshot: unknown value type ${type}`);
  const set = new SetValue();
  for (const member of raw as string[]) set.members.add(member);
  return set;
}

/**
 * Encodes the keyspace as it was when the encoder was made, a slice at a time, while the caller
 * goes on applying entries in between (a snapshot of a million locks takes 0.5-1.5 s of CPU here:
 * encoded in one go it paused every client and the node's Raft heartbeats for that long, and a
 * leader paused past an election timeout was replaced). Consistency is copy-on-access per hash slot: each database
 * calls capture() with a slot before any get/add/remove in it (Database.beforeSlotAccess), so a
 * slot is copied into the snapshot before the first write after the snapshot began can change it.
 * The header (clock, applied index, scripts, members, key count) is taken at once.
 *
 * The output is one buffer, sized from `bytesPerKeyHint` (the last snapshot's, which finish()
 * returns for the next) so that the usual case allocates once: the buffer is external memory that
 * lives until a major GC, and a copy per chunk plus a concatenation made every snapshot of 1M
 * locks leave ~90 MiB of it behind (bench/workloads/memory.ts).
 */
export class SnapshotEncoder {
  readonly appliedIndex: number;
  private readonly out: SnapshotBuffer;
  private readonly keys: number;
  /** Per database: 1 for each slot already in the snapshot. */
  private readonly captured: Uint8Array[] = [];
  /** Per database: the open chunk of keys of other types than string, and how many keys it holds. */
  private readonly others: unknown[][] = [];
  private readonly othersKeys: number[] = [];
  private readonly hooks: Array<(slot: number) => void> = [];
  private db = 0;
  private slot = 0;
  private detached = false;
  private finished = false;

  constructor(
    private readonly state: Keyspace,
    private readonly bytesPerKeyHint = 48,
  ) {
    let keys = 0;
    for (const db of state.dbs) keys += db.size;
    this.keys = keys;
    this.appliedIndex = state.appliedIndex;
    const header: Header = {
      format: FORMAT,
      version: VERSION,
      databases: state.dbs.length,
      appliedIndex: state.appliedIndex,
      clockMs: state.clockMs,
      offsetMs: state.offsetMs,
      members: [...state.memberIncarnations],
      keys,
      scripts: [...state.scripts.entries()].map(([sha, record]) => [sha, record.body, record.fromEval]),
    };
    this.out = new SnapshotBuffer(Math.ceil(keys * bytesPerKeyHint * 1.125) + 64 * 1024);
    this.out.bytes(packr.pack(header));
    for (let d = 0; d < state.dbs.length; d++) {
      this.captured.push(new Uint8Array(SLOT_COUNT));
      this.others.push([d]);
      this.othersKeys.push(0);
      const hook = (slot: number): void => {
        this.capture(d, slot);
      };
      this.hooks.push(hook);
      assert(state.dbs[d].beforeSlotAccess === null, 'two snapshots encoding at once');
      state.dbs[d].beforeSlotAccess = hook;
    }
  }

  /** Encodes slots in order until about `maxKeys` more keys are in; true once every slot is. */
  step(maxKeys: number): boolean {
    assert(!this.detached, 'step() of a finished or abandoned snapshot');
    let budget = maxKeys;
    for (; this.db < this.state.dbs.length; this.db++, this.slot = 0) {
      // An empty database has nothing left to copy: a slot that held keys when the snapshot began
      // was copied before the write that emptied it (beforeSlotAccess), and a key added since is
      // not the snapshot's. Walking its 16,384 empty slots anyway, in each of the 15 databases
      // nobody uses, was 2% of a follower's CPU in lock cycles at 50 clients, which snapshot
      // every 10,000 entries (perf, 2026-12-07).
      if (this.state.dbs[this.db].size === 0) continue;
      while (this.slot < SLOT_COUNT) {
        budget -= this.capture(this.db, this.slot++);
        if (budget <= 0) return this.db === this.state.dbs.length - 1 && this.slot === SLOT_COUNT;
      }
    }
    return true;
  }

  /** Encodes what is left and returns the snapshot; the keyspace is no longer watched. */
  finish(): { data: Uint8Array; bytesPerKey: number } {
    this.step(Infinity);
    this.detach();
    this.finished = true;
    for (let d = 0; d < this.others.length; d++) if (this.othersKeys[d] > 0) this.out.bytes(packr.pack(this.others[d]));
    this.out.closeStrings();
    const data = this.out.finish();
    return { data, bytesPerKey: this.keys === 0 ? this.bytesPerKeyHint : data.length / this.keys };
  }

  /** Stops watching the keyspace: the snapshot will not be finished (or just was). */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    for (let d = 0; d < this.hooks.length; d++) {
      if (this.state.dbs[d].beforeSlotAccess === this.hooks[d]) this.state.dbs[d].beforeSlotAccess = null;
    }
  }

  /** Detached before it was finished: restore() replaced the state, or the caller gave up. */
  get abandoned(): boolean {
    return this.detached && !this.finished;
  }

  /** Copies one slot into the snapshot unless it is in already; returns the keys copied. */
  private capture(d: number, slot: number): number {
    const seen = this.captured[d];
    if (seen[slot] === 1) return 0;
    seen[slot] = 1;
    const map = this.state.dbs[d].slotMap(slot);
    if (map === undefined || map.size === 0) return 0;
    for (const [key, entry] of map) {
      if (typeof entry.value === 'string') {
        this.out.addString(d, key, entry.value, entry.token, entry.deadlineMs);
        continue;
      }
      // pushValue copies the members: later writes to this value do not reach the snapshot.
      const chunk = this.others[d];
      chunk.push(key);
      pushValue(chunk, entry.value);
      chunk.push(entry.token, entry.deadlineMs);
      if (++this.othersKeys[d] === CHUNK_KEYS) {
        this.out.bytes(packr.pack(chunk));
        this.others[d] = [d];
        this.othersKeys[d] = 0;
      }
    }
    return map.size;
  }
}

/**
 * The snapshot's output buffer. String-valued keys go into msgpack bin32 values of the hand-made
 * layout described above, written in place; other values are msgpack chunks copied in.
 */
class SnapshotBuffer {
  private buf: Buffer;
  private at = 0;
  /** Offset of the open string chunk's bin32 marker, or -1. */
  private stringsAt = -1;
  /** The database of the open string chunk (slots copied early can come from another one). */
  private stringsDb = -1;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafeSlow(capacity);
  }

  /** Appends a whole msgpack value (a string chunk still open is closed first: it would swallow it). */
  bytes(data: Uint8Array): void {
    this.closeStrings();
    this.reserve(data.length);
    this.buf.set(data, this.at);
    this.at += data.length;
  }

  addString(db: number, key: string, value: string, token: number, deadlineMs: number): void {
    // Worst case: 3 UTF-8 bytes per UTF-16 unit, two lengths, two doubles, and a chunk header.
    const need = 3 * (key.length + value.length) + 32;
    if (this.stringsAt !== -1 && this.stringsDb !== db) this.closeStrings();
    if (this.stringsAt !== -1 && this.at - this.stringsAt + need > STRING_CHUNK_BYTES && this.at - this.stringsAt > 6) this.closeStrings();
    this.reserve(need);
    const buf = this.buf;
    if (this.stringsAt === -1) {
      this.stringsAt = this.at;
      this.stringsDb = db;
      buf[this.at] = 0xc6; // msgpack bin32; its length is filled in by closeStrings()
      buf[this.at + 5] = db;
      this.at += 6;
    }
    this.at = writeString(buf, key, this.at);
    this.at = writeString(buf, value, this.at);
    buf.writeDoubleLE(token, this.at);
    buf.writeDoubleLE(deadlineMs, this.at + 8);
    this.at += 16;
  }

  closeStrings(): void {
    if (this.stringsAt === -1) return;
    this.buf.writeUInt32BE(this.at - this.stringsAt - 5, this.stringsAt + 1);
    this.stringsAt = -1;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    freeSnapshotBuffer(this.buf);
    this.buf = grown;
  }
}

/**
 * Gives a snapshot buffer's memory back now rather than at the next major GC. Encoding takes
 * long enough for the buffer's ArrayBuffer object to reach the old generation, so once dropped
 * its memory (~65 MiB at a million locks) stayed in the RSS until a full collection, often the
 * next snapshot's. Transferring it detaches it (every view of it reads as empty from then on)
 * and moves the memory to a new ArrayBuffer object, which dies young: the next scavenge frees
 * it. Only for a buffer from SnapshotBuffer (its own ArrayBuffer, never a pool slice) that no one
 * else holds a view of.
 */
export function freeSnapshotBuffer(data: Uint8Array): void {
  const memory = data.buffer as ArrayBuffer;
  if (memory.byteLength === 0) return; // already detached
  structuredClone(memory, { transfer: [memory] });
}

function writeString(buf: Buffer, s: string, at: number): number {
  const bytes = buf.write(s, at + 4, 'utf8');
  buf.writeUInt32LE(bytes, at);
  return at + 4 + bytes;
}

/** Adds the string-valued keys of one bin chunk to their database; returns how many. */
function decodeStringChunk(raw: Uint8Array, state: Keyspace): number {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const db = state.dbs[buf[0]];
  assert(db !== undefined, 'snapshot: database out of range');
  let at = 1;
  let count = 0;
  while (at < buf.length) {
    assert(at + 4 <= buf.length, 'snapshot: truncated string chunk');
    const keyEnd = at + 4 + buf.readUInt32LE(at);
    assert(keyEnd + 4 <= buf.length, 'snapshot: truncated string chunk');
    const key = buf.toString('utf8', at + 4, keyEnd);
    const valueEnd = keyEnd + 4 + buf.readUInt32LE(keyEnd);
    assert(valueEnd + 16 <= buf.length, 'snapshot: truncated string chunk');
    const value = buf.toString('utf8', keyEnd + 4, valueEnd);
    db.add(key, new Entry(value, buf.readDoubleLE(valueEnd), buf.readDoubleLE(valueEnd + 8)));
    at = valueEnd + 16;
    count++;
  }
  return count;
}

/** Decodes a snapshot into a fresh Keyspace; throws on anything malformed (an operating error). */
export function decodeSnapshot(data: Uint8Array, env: KeyspaceEnv): Keyspace {
  let state: Keyspace | null = null;
  let expectedKeys = 0;
  let seenKeys = 0;
  unpackMultiple(Buffer.from(data.buffer, data.byteOffset, data.byteLength), (value: unknown) => {
    if (state === null) {
      const header = value as Header;
      if (header === null || typeof header !== 'object' || header.format !== FORMAT) throw new Error('not a quorumlock keyspace snapshot');
      if (header.version !== VERSION && header.version !== 1) throw new Error(`unsupported keyspace snapshot version ${header.version}`);
      state = new Keyspace(header.databases, new ScriptCache(env.limits.scriptsMax, env.limits.scriptBytesMax), env);
      for (const db of state.dbs) db.bulkLoading = true;
      state.appliedIndex = header.appliedIndex;
      state.clockMs = header.clockMs;
      state.offsetMs = header.offsetMs;
      for (const [nodeId, incarnation] of header.members ?? []) state.memberIncarnations.set(nodeId, incarnation);
      expectedKeys = header.keys;
      for (const [sha, body, fromEval] of header.scripts) state.scripts.restore(sha, body, fromEval);
      return;
    }
    if (value instanceof Uint8Array) {
      seenKeys += decodeStringChunk(value, state);
      return;
    }
    const chunk = value as unknown[];
    assert(Array.isArray(chunk) && (chunk.length - 1) % 5 === 0, 'snapshot: malformed chunk');
    const db = state.dbs[chunk[0] as number];
    assert(db !== undefined, 'snapshot: database out of range');
    for (let i = 1; i < chunk.length; i += 5) {
      const entry = new Entry(decodeValue(chunk[i + 1] as number, chunk[i + 2]), chunk[i + 3] as number, chunk[i + 4] as number);
      db.add(chunk[i] as string, entry);
      seenKeys++;
    }
  });
  if (state === null) throw new Error('empty keyspace snapshot');
  if (seenKeys !== expectedKeys) throw new Error(`truncated keyspace snapshot: ${seenKeys} of ${expectedKeys} keys`);
  for (const db of (state as Keyspace).dbs) db.endBulkLoad();
  return state;
}

/**
 * A SHA-256 over the state in a canonical order (databases, slots, keys sorted within a slot),
 * independent of insertion history. Equal states give equal digests.
 */
export function digestKeyspace(state: Keyspace): string {
  const hash = createHash('sha256');
  let buffer = `${state.appliedIndex}|${state.clockMs}|${state.offsetMs}|`;
  const flush = (): void => {
    hash.update(buffer, 'utf8');
    buffer = '';
  };
  for (const [sha, record] of state.scripts.entries()) buffer += `S${sha}:${record.fromEval ? 1 : 0}:${record.body.length}:${record.body}|`;
  for (let d = 0; d < state.dbs.length; d++) {
    const db = state.dbs[d];
    buffer += `D${d}:${db.size}|`;
    for (const [key, entry] of db.sortedEntries()) {
      buffer += `${key.length}:${key}:${entry.token}:${entry.deadlineMs}:`;
      const value = entry.value;
      if (typeof value === 'string') buffer += `s${value.length}:${value}|`;
      else if (value.kind === 'zset') {
        buffer += `z${value.size}`;
        for (let i = 0; i < value.members.length; i++) buffer += `:${value.members[i].length}:${value.members[i]}:${value.scores[i]}`;
        buffer += '|';
      } else {
        buffer += `t${value.members.size}`;
        for (const member of [...value.members].sort()) buffer += `:${member.length}:${member}`;
        buffer += '|';
      }
      if (buffer.length > 65536) flush();
    }
  }
  flush();
  return hash.digest('hex');
}
