// One segment file of the write-ahead log: its header, the framing of its records, how one is
// scanned and how a new one is made. Kept apart from Wal (which orders segments and appends) so
// the format is readable in one place and tests can scan or damage a segment byte by byte.
//
//   header  (32 bytes)  magic u32 'QLWL' | version u16 | 0 u16 | seq u64 | seed u32 | header CRC u32 | 8 zero bytes
//   record              more << 31 | payload length u32 | CRC u32 | payload
//   rest                zeros: a length of 0 marks the end of what was written
//
// The records of one append are all-or-nothing: every one but the last has the `more` bit set, and
// a scan hands an append over only once its last record is read valid. (A Raft save is several
// records, entries then hard state; replaying half of one could pair entries of a new term with
// the old term, which open() must refuse.)
//
// Integers are little-endian. A record's CRC is CHAINED: crc32(payload, CRC of the previous record
// in this segment), the first record chaining from the header's seed. After a crash tore the tail
// and a new record was written where the torn one began, bytes of older records may still follow
// it; they were chained from a predecessor that no longer exists, so they cannot pass for records
// (etcd's WAL does the same).
//
// Segments are preallocated with real zeros, not ftruncate: writing into a hole or an unwritten
// extent changes file-system metadata, and then every fdatasync commits the ext4 journal, which is
// the cost this log exists to avoid. A segment is prepared under a .tmp name, synced, then renamed
// into place and the directory synced, so a final name always holds a complete, zeroed segment.

import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import type { Decoded } from './layout';

export const segmentHeaderBytes = 32;
/** Bytes of framing before each payload. */
export const recordHeaderBytes = 8;
const moreFlag = 0x8000_0000;
/** The largest payload: its length must leave the `more` bit free. */
export const recordPayloadBytesMax = moreFlag - 1;
const magic = 0x4c57_4c51; // 'QLWL' read little-endian
const segmentVersion = 1;

const fsOpen = promisify(fs.open);
export const fsClose = promisify(fs.close);
export const fsFdatasync = promisify(fs.fdatasync);
const fsFsync = promisify(fs.fsync);

export function segmentFileName(seq: number): string {
  return `${seq.toString(16).padStart(16, '0')}.wal`;
}

/** The sequence number in a segment file name, or -1 if the name is not a segment's. */
export function seqOfSegmentFileName(name: string): number {
  if (!/^[0-9a-f]{16}\.wal$/.test(name)) return -1;
  const seq = parseInt(name.slice(0, 16), 16);
  return Number.isSafeInteger(seq) ? seq : -1;
}

export interface SegmentHeader {
  readonly seq: number;
  /** The CRC the first record chains from. */
  readonly seed: number;
}

export function encodeSegmentHeader(header: SegmentHeader): Buffer {
  const out = Buffer.alloc(segmentHeaderBytes);
  out.writeUInt32LE(magic, 0);
  out.writeUInt16LE(segmentVersion, 4);
  out.writeUInt32LE(header.seq >>> 0, 8);
  out.writeUInt32LE(Math.floor(header.seq / 0x1_0000_0000), 12);
  out.writeUInt32LE(header.seed, 16);
  out.writeUInt32LE(crc32(out.subarray(0, 20)), 20);
  return out;
}

export function decodeSegmentHeader(bytes: Buffer): Decoded<SegmentHeader> {
  if (bytes.length < segmentHeaderBytes) return { ok: false, why: `the file is ${bytes.length} bytes, shorter than a segment header` };
  if (bytes.readUInt32LE(0) !== magic) return { ok: false, why: 'the header has no segment magic number' };
  if (bytes.readUInt32LE(20) !== crc32(bytes.subarray(0, 20))) return { ok: false, why: 'the header CRC does not match' };
  const version = bytes.readUInt16LE(4);
  if (version !== segmentVersion) return { ok: false, why: `segment format version ${version}, this build reads ${segmentVersion}` };
  const seq = bytes.readUInt32LE(12) * 0x1_0000_0000 + bytes.readUInt32LE(8);
  return { ok: true, value: { seq, seed: bytes.readUInt32LE(16) } };
}

export function framedBytes(payloads: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const p of payloads) bytes += recordHeaderBytes + p.length;
  return bytes;
}

/**
 * One append's records framed for writing after a record whose CRC is `crc`, followed by
 * `zeroPaddingBytes` zeros (see Wal.append: the segment holds zeros there already); and the last
 * record's CRC.
 */
export function frameRecords(payloads: readonly Uint8Array[], crc: number, zeroPaddingBytes = 0): { bytes: Buffer; crc: number } {
  const out = Buffer.allocUnsafe(framedBytes(payloads) + zeroPaddingBytes);
  let p = 0;
  for (let i = 0; i < payloads.length; i++) {
    const payload = payloads[i];
    // A zero length would read back as the end of the segment.
    if (payload.length === 0) throw new RangeError('a WAL record payload must not be empty');
    if (payload.length > recordPayloadBytesMax) throw new RangeError(`a WAL record payload of ${payload.length} bytes is over ${recordPayloadBytesMax}`);
    crc = crc32(payload, crc);
    out.writeUInt32LE((i < payloads.length - 1 ? moreFlag : 0) + payload.length, p);
    out.writeUInt32LE(crc, p + 4);
    out.set(payload, p + recordHeaderBytes);
    p += recordHeaderBytes + payload.length;
  }
  out.fill(0, p);
  return { bytes: out, crc };
}

/** Where and why a scan stopped. */
export interface SegmentScan {
  /** Offset after the last whole append: where the next record goes. */
  readonly endOffset: number;
  /** CRC of the last record of that append (the seed if none): what the next record chains from. */
  readonly crc: number;
  readonly records: number;
  /** Null: a zero length (or too few bytes left for a record) ended it cleanly. Else what is wrong at endOffset. */
  readonly invalid: string | null;
}

/**
 * Reads the records of a whole segment file, from after the header, calling onRecord for each
 * record of each whole, valid append (the payload is a view into `file`: copy what must outlive
 * it), until the first append that is not.
 */
export function scanSegment(file: Buffer, seed: number, onRecord: (payload: Buffer, offset: number) => void): SegmentScan {
  let end = { offset: segmentHeaderBytes, crc: seed };
  let offset = segmentHeaderBytes;
  let crc = seed;
  let records = 0;
  /** The records of the append being read: handed over once its last one is. */
  const pending: Array<{ payload: Buffer; offset: number }> = [];
  const stop = (invalid: string | null): SegmentScan => {
    if (invalid === null && pending.length > 0) invalid = 'the log ends inside an append (its last record is missing)';
    return { endOffset: end.offset, crc: end.crc, records, invalid };
  };
  for (;;) {
    if (file.length - offset < recordHeaderBytes) {
      return stop(file.subarray(offset).every((b) => b === 0) ? null : 'a record header runs past the end of the file');
    }
    const word = file.readUInt32LE(offset);
    if (word === 0) return stop(null);
    const more = word >= moreFlag;
    const length = more ? word - moreFlag : word;
    if (length === 0) return stop('a record of 0 bytes marked as followed by more');
    if (length > file.length - offset - recordHeaderBytes) {
      return stop(`a record of ${length} bytes runs past the end of the file (${file.length} bytes)`);
    }
    const payload = file.subarray(offset + recordHeaderBytes, offset + recordHeaderBytes + length);
    const expected = crc32(payload, crc);
    if (file.readUInt32LE(offset + 4) !== expected) return stop(`the CRC of a ${length}-byte record does not match`);
    pending.push({ payload, offset });
    crc = expected;
    offset += recordHeaderBytes + length;
    if (more) continue;
    for (const r of pending) onRecord(r.payload, r.offset);
    records += pending.length;
    pending.length = 0;
    end = { offset, crc };
  }
}

/** An open segment file. */
export interface SegmentFile {
  readonly seq: number;
  readonly path: string;
  readonly fd: number;
  /**
   * The same file opened O_DSYNC: a write through it returns once its bytes are durable, one
   * system call and one trip to libuv's thread pool instead of two (write, then fdatasync). It
   * syncs only the range it writes, so bytes written unsynced through `fd` need an fdatasync.
   */
  readonly dsyncFd: number;
  readonly seed: number;
  /** The file's size: records never go past it. */
  sizeBytes: number;
}

/** One positioned write (no promisify wrapper: this is the hot path). */
function writeAt(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, bytes, offset, length, position, (error, written) => (error ? reject(error) : resolve(written))));
}

export async function writeFully(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await writeAt(fd, bytes, done, bytes.length - done, position + done);
}

/** writeFully with synchronous system calls, on the calling thread. */
export function writeFullySync(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
}

const zeros = Buffer.alloc(1024 * 1024);

/** Writes zeros over [from, to). */
export async function writeZeros(fd: number, from: number, to: number): Promise<void> {
  for (let p = from; p < to; p += zeros.length) await writeFully(fd, zeros.subarray(0, Math.min(zeros.length, to - p)), p);
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const fd = await fsOpen(dir, 'r');
  try {
    await fsFsync(fd);
  } finally {
    await fsClose(fd);
  }
}

const dsyncFlags = fs.constants.O_RDWR | fs.constants.O_DSYNC;

/** Opens an existing segment file for appending (at open(); synchronous). */
export function openSegmentSync(file: string, seq: number, seed: number): SegmentFile {
  const fd = fs.openSync(file, 'r+');
  try {
    const dsyncFd = fs.openSync(file, dsyncFlags);
    return { seq, path: file, fd, dsyncFd, seed, sizeBytes: fs.fstatSync(fd).size };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

export async function closeSegment(segment: SegmentFile): Promise<void> {
  await fsClose(segment.dsyncFd).catch(() => {});
  await fsClose(segment.fd);
}

/**
 * Makes segment `seq` of `sizeBytes` in `dir`: header and zeros written for real under a .tmp
 * name, synced, renamed into place, the directory synced. Returns it open for writing.
 */
export async function createSegment(dir: string, seq: number, sizeBytes: number): Promise<SegmentFile> {
  const final = path.join(dir, segmentFileName(seq));
  const tmp = `${final}.tmp`;
  const seed = randomInt(0, 2 ** 32);
  const fd = await fsOpen(tmp, 'w+');
  try {
    await writeFully(fd, encodeSegmentHeader({ seq, seed }), 0);
    await writeZeros(fd, segmentHeaderBytes, sizeBytes);
    // fsync, not fdatasync: the file's size is new metadata that must be durable too.
    await fsFsync(fd);
    await fs.promises.rename(tmp, final);
    await fsyncDirectory(dir);
  } catch (error) {
    await fsClose(fd).catch(() => {});
    await fs.promises.unlink(tmp).catch(() => {});
    throw error;
  }
  try {
    const dsyncFd = await fsOpen(final, dsyncFlags);
    return { seq, path: final, fd, dsyncFd, seed, sizeBytes };
  } catch (error) {
    // Whole and in place: a prepared segment, used or replaced later.
    await fsClose(fd).catch(() => {});
    throw error;
  }
}

/** Extends a segment with zeros to hold a batch larger than the usual segment size. */
export async function growSegment(segment: SegmentFile, sizeBytes: number): Promise<void> {
  if (sizeBytes <= segment.sizeBytes) return;
  await writeZeros(segment.fd, segment.sizeBytes, sizeBytes);
  await fsFsync(segment.fd);
  segment.sizeBytes = sizeBytes;
}
