// The on-disk layout of the Raft storage: which key holds what, and how records are encoded.
// Kept apart from RaftStorage so the layout (format version 1) is readable in one place and tests
// can write raw records (e.g. garbage) under the exact keys the storage reads.
//
//   'm'                     meta: { formatVersion, nodeId, clusterId, createdAtMs }
//   'h'                     hard state: { term, vote, commit }
//   's'                     snapshot meta: { index, term, conf, dataBytes, chunkCount }
//   'c' + u32 BE chunk no.  snapshot data, in chunks of at most snapshotChunkBytes
//   'e' + u64 BE index      log entry: { term, type, data }
//
// Big-endian indexes make LevelDB's byte order the log order, so one forward iterator over the
// 'e' prefix reads the log in index order.

import assert from 'node:assert';
import { Packr } from 'msgpackr';
import { EntryType, type ConfState, type Entry, type HardState, type SnapshotMeta } from '../types';

export const formatVersion = 1;
export const snapshotChunkBytes = 1024 * 1024;

export const metaKey = Buffer.from('m');
export const hardStateKey = Buffer.from('h');
export const snapshotMetaKey = Buffer.from('s');
const entryPrefix = 0x65; // 'e'
const chunkPrefix = 0x63; // 'c'

/** Bounds for an iterator over every entry key. */
export const entryKeyMin = Buffer.from([entryPrefix]);
export const entryKeyEnd = Buffer.from([entryPrefix + 1]);
export const chunkKeyMin = Buffer.from([chunkPrefix]);
export const chunkKeyEnd = Buffer.from([chunkPrefix + 1]);

// useRecords:false keeps records plain msgpack maps, readable by any msgpack decoder and stable
// across msgpackr versions (no shared structure table to persist).
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number' });

export function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = entryPrefix;
  key.writeUInt32BE(Math.floor(index / 0x1_0000_0000), 1);
  key.writeUInt32BE(index >>> 0, 5);
  return key;
}

/** The index in an entry key, or -1 if the key is not a well-formed entry key. */
export function indexOfEntryKey(key: Uint8Array): number {
  if (key.length !== 9 || key[0] !== entryPrefix) return -1;
  const view = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const high = view.readUInt32BE(1);
  if (high > 0x1f_ffff) return -1; // beyond Number.MAX_SAFE_INTEGER
  return high * 0x1_0000_0000 + view.readUInt32BE(5);
}

export function chunkKey(chunk: number): Buffer {
  const key = Buffer.allocUnsafe(5);
  key[0] = chunkPrefix;
  key.writeUInt32BE(chunk, 1);
  return key;
}

export interface MetaRecord {
  readonly formatVersion: number;
  readonly nodeId: string;
  readonly clusterId: string;
  readonly createdAtMs: number;
}

export interface SnapshotMetaRecord extends SnapshotMeta {
  readonly dataBytes: number;
  readonly chunkCount: number;
}

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

// The map keys of an entry record, as msgpack fixstr.
const termField = [0xa4, 0x74, 0x65, 0x72, 0x6d];
const typeField = [0xa4, 0x74, 0x79, 0x70, 0x65];
const dataField = [0xa4, 0x64, 0x61, 0x74, 0x61];

function putBytes(out: Buffer, p: number, bytes: readonly number[]): number {
  for (let i = 0; i < bytes.length; i++) out[p + i] = bytes[i];
  return p + bytes.length;
}

/**
 * The msgpack map { term, type, data }, written by hand: entries are encoded on every save (the
 * hot path) and this is several times faster than a generic encoder. Any msgpack decoder reads it;
 * decodeEntry uses msgpackr.
 */
export function encodeEntry(entry: Entry): Buffer {
  const { term, type, data } = entry;
  assert(Number.isSafeInteger(term) && term >= 0, `entry term ${term} is not a count`);
  assert(type === EntryType.Normal || type === EntryType.ConfChange, `entry type ${type} is unknown`);
  const length = data.length;
  const out = Buffer.allocUnsafe(1 + 5 + 9 + 5 + 1 + 5 + 5 + length);
  let p = 0;
  out[p++] = 0x83; // fixmap of 3
  p = putBytes(out, p, termField);
  if (term <= 0x7f) {
    out[p++] = term;
  } else if (term <= 0xffff) {
    out[p++] = 0xcd;
    p = out.writeUInt16BE(term, p);
  } else if (term <= 0xffff_ffff) {
    out[p++] = 0xce;
    p = out.writeUInt32BE(term, p);
  } else {
    out[p++] = 0xcf;
    p = out.writeUInt32BE(Math.floor(term / 0x1_0000_0000), p);
    p = out.writeUInt32BE(term >>> 0, p);
  }
  p = putBytes(out, p, typeField);
  out[p++] = type; // positive fixint
  p = putBytes(out, p, dataField);
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
  return out.subarray(0, p + length);
}

// Decoders return a description of what is wrong instead of throwing, so the caller can name the
// directory and key in one StorageError.

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

export function decodeEntry(index: number, raw: Uint8Array): Decoded<Entry> {
  const u = unpack(raw);
  if (!u.ok) return u;
  const v = u.value;
  if (!isObject(v) || !isCount(v.term) || !(v.data instanceof Uint8Array)) return { ok: false, why: 'not a {term,type,data} entry record' };
  if (v.type !== EntryType.Normal && v.type !== EntryType.ConfChange) return { ok: false, why: `unknown entry type ${String(v.type)}` };
  return { ok: true, value: { term: v.term, index, type: v.type, data: v.data } };
}

export function decodeHardState(raw: Uint8Array): Decoded<HardState> {
  const u = unpack(raw);
  if (!u.ok) return u;
  const v = u.value;
  if (!isObject(v) || !isCount(v.term) || typeof v.vote !== 'string' || !isCount(v.commit)) {
    return { ok: false, why: 'not a {term,vote,commit} hard state record' };
  }
  return { ok: true, value: { term: v.term, vote: v.vote, commit: v.commit } };
}

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
  if (!isObject(v) || !isCount(v.index) || !isCount(v.term) || !isCount(v.dataBytes) || !isCount(v.chunkCount) || !isObject(v.conf)) {
    return { ok: false, why: 'not a snapshot meta record' };
  }
  const c = v.conf;
  if (!isStringArray(c.voters) || !isStringArray(c.learners) || !isStringArray(c.votersOutgoing)) {
    return { ok: false, why: 'snapshot meta has a malformed conf state' };
  }
  const conf: ConfState = { voters: c.voters, learners: c.learners, votersOutgoing: c.votersOutgoing };
  return { ok: true, value: { index: v.index, term: v.term, conf, dataBytes: v.dataBytes, chunkCount: v.chunkCount } };
}
