// Snapshots as plain files: `<dir>/<index>-<term>.snap` (16 hex digits each).
//
// A snapshot is one large blob written rarely. Through LevelDB it cost twice: its bytes were
// copied into a write batch and a memtable (malloc arenas that glibc keeps after they are freed:
// ~300 MB of a node's RSS at a million locks), and the batch blocked every log append queued
// behind it. A file is written straight from the Buffer, off the storage's write queue.
//
// Layout: magic (8 bytes), u32 BE header length, the header (msgpack: index, term, conf,
// dataBytes, crc32 of the data), then the data. Written to a `.tmp` name, fsynced, renamed, and
// the directory fsynced: a file under its final name is complete, so a torn one is corruption.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import type { ConfState, SnapshotMeta } from '../types';
import { corruptError } from './errors';

const MAGIC = Buffer.from('QLSNAP1\n');
const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number' });

interface Header {
  index: number;
  term: number;
  conf: ConfState;
  dataBytes: number;
  crc32: number;
}

export interface SnapshotFile {
  readonly index: number;
  readonly term: number;
  readonly path: string;
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

export function snapshotFileName(index: number, term: number): string {
  return `${hex16(index)}-${hex16(term)}.snap`;
}

/** Removes `.tmp` files left by a write that a crash interrupted (call at open, never during a write). */
export function removeStrayTmpFiles(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) if (name.endsWith('.tmp')) fs.rmSync(path.join(dir, name), { force: true });
}

/** Snapshot files in `dir`, oldest first. */
export function listSnapshotFiles(dir: string): SnapshotFile[] {
  if (!fs.existsSync(dir)) return [];
  const files: SnapshotFile[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = NAME.exec(name);
    if (m) files.push({ index: parseInt(m[1], 16), term: parseInt(m[2], 16), path: path.join(dir, name) });
  }
  return files.sort((a, b) => a.index - b.index);
}

/** Writes a snapshot durably (tmp, fsync, rename, fsync of the directory); resolves with its path. */
export async function writeSnapshotFile(dir: string, meta: SnapshotMeta, data: Uint8Array): Promise<string> {
  await fs.promises.mkdir(dir, { recursive: true });
  const header = packr.pack({ index: meta.index, term: meta.term, conf: meta.conf, dataBytes: data.length, crc32: crc32(data) } satisfies Header);
  const prefix = Buffer.allocUnsafe(MAGIC.length + 4);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32BE(header.length, MAGIC.length);
  const final = path.join(dir, snapshotFileName(meta.index, meta.term));
  const tmp = `${final}.tmp`;
  const file = await fs.promises.open(tmp, 'w');
  try {
    await file.writev([prefix, header, data]);
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.promises.rename(tmp, final);
  await syncDir(dir);
  return final;
}

/** Reads and checks a snapshot file; a damaged one is a StorageError (STORAGE_CORRUPT) naming it. */
export function readSnapshotFile(storageDir: string, file: SnapshotFile): { meta: SnapshotMeta; data: Buffer } {
  const raw = fs.readFileSync(file.path);
  const bad = (why: string): Error => corruptError(storageDir, `snapshot file ${file.path}: ${why}`);
  if (raw.length < MAGIC.length + 4 || !raw.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('not a quorumlock snapshot file');
  const headerEnd = MAGIC.length + 4 + raw.readUInt32BE(MAGIC.length);
  if (headerEnd > raw.length) throw bad('truncated header');
  let header: Header;
  try {
    header = packr.unpack(raw.subarray(MAGIC.length + 4, headerEnd)) as Header;
  } catch (error) {
    throw bad(`undecodable header (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || header.index !== file.index || header.term !== file.term) throw bad('its header does not match its name');
  const data = raw.subarray(headerEnd);
  if (data.length !== header.dataBytes) throw bad(`${data.length} bytes of data, its header says ${header.dataBytes}`);
  if (crc32(data) !== header.crc32) throw bad('data checksum mismatch');
  return { meta: { index: header.index, term: header.term, conf: header.conf }, data };
}

/** Removes the snapshot files older than `index` (they are superseded once the newer one is recorded). */
export async function removeSnapshotFilesBefore(dir: string, index: number): Promise<void> {
  for (const file of listSnapshotFiles(dir)) if (file.index < index) await fs.promises.rm(file.path, { force: true });
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
