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
const packr = new Packr({ useRecords: false, moreTypes: false });

export function entryKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = entryPrefix;
  key.writeBigUInt64BE(BigInt(index), 1);
  return key;
}

/** The index in an entry key, or -1 if the key is not a well-formed entry key. */
export function indexOfEntryKey(key: Uint8Array): number {
  if (key.length !== 9 || key[0] !== entryPrefix) return -1;
  const index = Buffer.from(key.buffer, key.byteOffset, key.byteLength).readBigUInt64BE(1);
  return index > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(index);
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

export function encodeEntry(entry: Entry): Buffer {
  return packr.pack({ term: entry.term, type: entry.type, data: entry.data });
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
