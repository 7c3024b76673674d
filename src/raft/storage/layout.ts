// The on-disk layout of the Raft storage: what lives where, and how records are encoded. Kept
// apart from RaftStorage so the layout (format version 2) is readable in one place and tests can
// write raw records (e.g. garbage) exactly as the storage reads them.
//
// LevelDB (the storage directory itself) holds what is written rarely:
//
//   'm'                     meta: { formatVersion, nodeId, clusterId, createdAtMs }
//   's'                     snapshot meta: { index, term, conf, dataBytes }; the data is the file
//                           <dir>/snapshots/<index>-<term>.snap (snapshot_file.ts)
//
// The write-ahead log (<dir>/wal/, see wal_segment.ts for the framing) holds what every save
// writes: log entries and the hard state, plus a marker for each snapshot saved. A WAL record's
// payload is one type byte followed by a msgpack array:
//
//   1 ENTRIES          [firstIndex, [[term, type, data], ...]]   entries firstIndex.. replace any >= firstIndex
//   2 HARD_STATE       [term, vote, commit]                      the last one wins
//   3 SNAPSHOT_MARKER  [index, term, keepAfter]                  entries <= index are covered by the snapshot;
//                                                                 keepAfter false: the later ones are discarded too
//
// Version 1 kept entries ('e' + u64 BE index) and the hard state ('h') in LevelDB; this build
// refuses such a directory (STORAGE_VERSION) rather than reading a log it does not write.

import assert from 'node:assert';
import { Packr } from 'msgpackr';
import { EntryType, type ConfState, type Entry, type HardState, type SnapshotMeta } from '../types';

export const formatVersion = 2;

export const metaKey = Buffer.from('m');
export const snapshotMetaKey = Buffer.from('s');

// useRecords:false keeps records plain msgpack, readable by any msgpack decoder and stable across
// msgpackr versions (no shared structure table to persist). copyBuffers: entry data decoded from a
// WAL segment read whole at open must not keep that whole segment buffer alive.
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number', copyBuffers: true });

export interface MetaRecord {
  readonly formatVersion: number;
  readonly nodeId: string;
  readonly clusterId: string;
  readonly createdAtMs: number;
}

export interface SnapshotMetaRecord extends SnapshotMeta {
  readonly dataBytes: number;
}

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

// ---- WAL records ----

export const enum WalRecordType {
  Entries = 1,
  HardState = 2,
  SnapshotMarker = 3,
}

export type WalRecord =
  | { readonly type: WalRecordType.Entries; readonly first: number; readonly entries: Entry[] }
  | { readonly type: WalRecordType.HardState; readonly hardState: HardState }
  | { readonly type: WalRecordType.SnapshotMarker; readonly index: number; readonly term: number; readonly keepAfter: boolean };

/** Writes a msgpack unsigned integer at p; returns the position after it. */
function putUint(out: Buffer, p: number, n: number): number {
  if (n <= 0x7f) {
    out[p++] = n;
  } else if (n <= 0xff) {
    out[p++] = 0xcc;
    out[p++] = n;
  } else if (n <= 0xffff) {
    out[p++] = 0xcd;
    p = out.writeUInt16BE(n, p);
  } else if (n <= 0xffff_ffff) {
    out[p++] = 0xce;
    p = out.writeUInt32BE(n, p);
  } else {
    out[p++] = 0xcf;
    p = out.writeUInt32BE(Math.floor(n / 0x1_0000_0000), p);
    p = out.writeUInt32BE(n >>> 0, p);
  }
  return p;
}

function putArrayHeader(out: Buffer, p: number, length: number): number {
  if (length <= 15) {
    out[p++] = 0x90 | length;
  } else if (length <= 0xffff) {
    out[p++] = 0xdc;
    p = out.writeUInt16BE(length, p);
  } else {
    out[p++] = 0xdd;
    p = out.writeUInt32BE(length, p);
  }
  return p;
}

/**
 * The ENTRIES record of contiguous entries, written by hand: it is encoded on every save (the hot
 * path) and this is several times faster than a generic encoder. Any msgpack decoder reads it;
 * decodeWalRecord uses msgpackr.
 */
export function encodeEntriesRecord(entries: readonly Entry[]): Buffer {
  assert(entries.length > 0, 'an entries record holds at least one entry');
  const first = entries[0].index;
  assert(Number.isSafeInteger(first) && first >= 1, `entry index ${first} is not a log index`);
  let bytes = 1 + 1 + 9 + 5;
  for (const entry of entries) bytes += 1 + 9 + 1 + 5 + entry.data.length;
  const out = Buffer.allocUnsafe(bytes);
  let p = 0;
  out[p++] = WalRecordType.Entries;
  out[p++] = 0x92; // fixarray of 2
  p = putUint(out, p, first);
  p = putArrayHeader(out, p, entries.length);
  for (const { term, type, data } of entries) {
    assert(Number.isSafeInteger(term) && term >= 0, `entry term ${term} is not a count`);
    assert(type === EntryType.Normal || type === EntryType.ConfChange, `entry type ${type} is unknown`);
    out[p++] = 0x93; // fixarray of 3
    p = putUint(out, p, term);
    out[p++] = type; // positive fixint
    const length = data.length;
    if (length <= 0xff) {
      out[p++] = 0xc4;
      out[p++] = length;
    } else if (length <= 0xffff) {
      out[p++] = 0xc5;
      p = out.writeUInt16BE(length, p);
    } else {
      out[p++] = 0xc6;
      p = out.writeUInt32BE(length, p);
    }
    out.set(data, p);
    p += length;
  }
  return out.subarray(0, p);
}

function typed(type: WalRecordType, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + body.length);
  out[0] = type;
  body.copy(out, 1);
  return out;
}

export function encodeHardStateRecord(hardState: HardState): Buffer {
  return typed(WalRecordType.HardState, packr.pack([hardState.term, hardState.vote, hardState.commit]));
}

export function encodeSnapshotMarkerRecord(index: number, term: number, keepAfter: boolean): Buffer {
  return typed(WalRecordType.SnapshotMarker, packr.pack([index, term, keepAfter]));
}

// Decoders return a description of what is wrong instead of throwing, so the caller can name the
// directory and the record in one StorageError.

export type Decoded<T> = { ok: true; value: T } | { ok: false; why: string };

function unpack(raw: Uint8Array): Decoded<unknown> {
  try {
    return { ok: true, value: packr.unpack(raw) };
  } catch (error) {
    return { ok: false, why: `undecodable msgpack (${(error as Error).message})` };
  }
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

const recordNames: Record<number, string> = {
  [WalRecordType.Entries]: 'entries record',
  [WalRecordType.HardState]: 'hard state record',
  [WalRecordType.SnapshotMarker]: 'snapshot marker record',
};

/** What kind of record a payload claims to be, for messages about it. */
export function walRecordName(payload: Uint8Array): string {
  return recordNames[payload[0]] ?? `record of unknown type ${payload[0]}`;
}

export function decodeWalRecord(payload: Uint8Array): Decoded<WalRecord> {
  if (payload.length < 2) return { ok: false, why: `a ${payload.length}-byte record is too short` };
  const type = payload[0];
  if (recordNames[type] === undefined) return { ok: false, why: `unknown record type ${type}` };
  const u = unpack(payload.subarray(1));
  if (!u.ok) return u;
  const v = u.value;
  switch (type) {
    case WalRecordType.Entries: {
      if (!Array.isArray(v) || v.length !== 2 || !isCount(v[0]) || v[0] < 1 || !Array.isArray(v[1]) || v[1].length === 0) {
        return { ok: false, why: 'not a [firstIndex, [entry, ...]] entries record' };
      }
      const first = v[0];
      const list = v[1] as unknown[];
      const entries: Entry[] = new Array(list.length);
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        if (!Array.isArray(e) || e.length !== 3 || !isCount(e[0]) || !(e[2] instanceof Uint8Array)) {
          return { ok: false, why: `entry ${first + i} is not a [term, type, data] tuple` };
        }
        if (e[1] !== EntryType.Normal && e[1] !== EntryType.ConfChange) return { ok: false, why: `entry ${first + i} has unknown type ${String(e[1])}` };
        entries[i] = { index: first + i, term: e[0], type: e[1], data: e[2] };
      }
      return { ok: true, value: { type, first, entries } };
    }
    case WalRecordType.HardState:
      if (!Array.isArray(v) || v.length !== 3 || !isCount(v[0]) || typeof v[1] !== 'string' || !isCount(v[2])) {
        return { ok: false, why: 'not a [term, vote, commit] hard state record' };
      }
      return { ok: true, value: { type, hardState: { term: v[0], vote: v[1], commit: v[2] } } };
    default:
      if (!Array.isArray(v) || v.length !== 3 || !isCount(v[0]) || v[0] < 1 || !isCount(v[1]) || typeof v[2] !== 'boolean') {
        return { ok: false, why: 'not an [index, term, keepAfter] snapshot marker record' };
      }
      return { ok: true, value: { type: WalRecordType.SnapshotMarker, index: v[0], term: v[1], keepAfter: v[2] } };
  }
}

// ---- LevelDB records ----

/** The formatVersion field of a meta record of any version, or null if there is none. */
export function peekFormatVersion(raw: Uint8Array): number | null {
  const u = unpack(raw);
  if (!u.ok || !isObject(u.value) || typeof u.value.formatVersion !== 'number') return null;
  return u.value.formatVersion;
}

export function decodeMeta(raw: Uint8Array): Decoded<MetaRecord> {
  const u = unpack(raw);
  if (!u.ok) return u;
  const v = u.value;
  if (!isObject(v) || !isCount(v.formatVersion) || typeof v.nodeId !== 'string' || typeof v.clusterId !== 'string' || !isCount(v.createdAtMs)) {
    return { ok: false, why: 'not a {formatVersion,nodeId,clusterId,createdAtMs} meta record' };
  }
  return { ok: true, value: { formatVersion: v.formatVersion, nodeId: v.nodeId, clusterId: v.clusterId, createdAtMs: v.createdAtMs } };
}

export function decodeSnapshotMeta(raw: Uint8Array): Decoded<SnapshotMetaRecord> {
  const u = unpack(raw);
  if (!u.ok) return u;
  const v = u.value;
  if (!isObject(v) || !isCount(v.index) || !isCount(v.term) || !isCount(v.dataBytes) || !isObject(v.conf)) {
    return { ok: false, why: 'not a snapshot meta record' };
  }
  const c = v.conf;
  if (!isStringArray(c.voters) || !isStringArray(c.learners) || !isStringArray(c.votersOutgoing)) {
    return { ok: false, why: 'snapshot meta has a malformed conf state' };
  }
  const conf: ConfState = { voters: c.voters, learners: c.learners, votersOutgoing: c.votersOutgoing };
  return { ok: true, value: { index: v.index, term: v.term, conf, dataBytes: v.dataBytes } };
}
