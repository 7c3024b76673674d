// Snapshot encoding of the whole keyspace (msgpackr), and a digest of it.
//
// The snapshot is a sequence of msgpack values in one buffer: a header (clock, offset, applied
// index, script cache, key count), then chunks of up to CHUNK_KEYS keys, each a flat array
// [db, key, type, value, token, deadline, key, ...]. Packing chunk by chunk keeps the transient
// heap small at a million keys. Deadlines stay on the logical timeline, with the offset beside them.

import { createHash } from 'node:crypto';
import { Packr, unpackMultiple } from 'msgpackr';
import { assert } from './assert';
import { Entry, Keyspace, ScriptCache, type KeyspaceEnv, type Value } from './keyspace';
import { SetValue, ZSetValue } from './zset';

const FORMAT = 'quorumlock-keyspace';
const VERSION = 1;
const CHUNK_KEYS = 8192;
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

export function encodeSnapshot(state: Keyspace): Uint8Array {
  let keys = 0;
  for (const db of state.dbs) keys += db.size;
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
  const parts: Uint8Array[] = [packr.pack(header)];
  for (let d = 0; d < state.dbs.length; d++) {
    let chunk: unknown[] = [d];
    let inChunk = 0;
    for (const [key, entry] of state.dbs[d].entries()) {
      chunk.push(key);
      pushValue(chunk, entry.value);
      chunk.push(entry.token, entry.deadlineMs);
      if (++inChunk === CHUNK_KEYS) {
        parts.push(packr.pack(chunk));
        chunk = [d];
        inChunk = 0;
      }
    }
    if (inChunk > 0) parts.push(packr.pack(chunk));
  }
  return Buffer.concat(parts);
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
      if (header.version !== VERSION) throw new Error(`unsupported keyspace snapshot version ${header.version}`);
      state = new Keyspace(header.databases, new ScriptCache(env.limits.scriptsMax, env.limits.scriptBytesMax), env);
      state.appliedIndex = header.appliedIndex;
      state.clockMs = header.clockMs;
      state.offsetMs = header.offsetMs;
      for (const [nodeId, incarnation] of header.members ?? []) state.memberIncarnations.set(nodeId, incarnation);
      expectedKeys = header.keys;
      for (const [sha, body, fromEval] of header.scripts) state.scripts.restore(sha, body, fromEval);
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
  for (const db of (state as Keyspace).dbs) db.compactHeap();
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
