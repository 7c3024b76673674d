// A segmented, append-only log of records with chained CRCs: the write-ahead log of the Raft
// storage. It knows nothing of Raft: it keeps opaque payloads in order, hands them back in order
// at open, and deletes whole old segments when its owner says nothing in them is needed any more.
// The segment format (header, framing, chaining, preallocation) is in wal_segment.ts.
//
// Appending is one positioned write of all the batch's records, durable before it resolves when
// the batch asks for it; an append is all-or-nothing at replay (see wal_segment.ts). The segment
// was zero-filled ahead of time, so the write changes no file-system metadata and the sync flushes
// data only: no ext4 journal commit on the hot path. A synced append goes through an O_DSYNC file
// descriptor: the write and its sync are one system call (the same work as write + fdatasync, one
// trip to libuv's thread pool instead of two). When unsynced appends precede it, write + fdatasync
// it is, since an O_DSYNC write syncs only its own bytes. An append also writes the zeros after its
// records to the end of their last page, so that it never writes part of a page the kernel dropped
// from its cache, which would cost a disk read inside the synced write (pagePaddingBytes).
//
// Rollover: a batch that does not fit in the rest of the active segment goes to the next one, after
// the active one is synced (then a torn write can only ever be in the last segment written to).
// The next segment is prepared in the background once the active one is half full, so a rollover
// normally does not wait for it. Every new segment begins with the owner's prologue records (the
// state that deleting older segments must not lose), then the batch. A batch larger than a segment
// gets a segment grown to its size.
//
// Open reads every segment in sequence order. Replay stops at the first invalid record; in the last
// segment written to that is the torn tail of a write that was never acknowledged: that append is dropped
// (the rest of the segment zeroed, as etcd's ZeroToEnd does) and appends continue exactly there.
// Anywhere else it is corruption, and so is a missing segment in the sequence.

import assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { corruptError } from './errors';
import {
  closeSegment,
  createSegment,
  decodeSegmentHeader,
  framedBytes,
  frameRecords,
  fsFdatasync,
  fsyncDirectory,
  growSegment,
  openSegmentSync,
  scanSegment,
  segmentFileName,
  segmentHeaderBytes,
  seqOfSegmentFileName,
  writeFully,
  writeFullySync,
  writeZeros,
  type SegmentFile,
} from './wal_segment';

export const defaultSegmentBytes = 64 * 1024 * 1024;
/** The page size the padding of appends aligns to (see pagePaddingBytes). */
export const walPageBytes = 4096;
/** The largest append written on the calling thread when the caller asks to block (see append()). */
export const blockingAppendBytesMax = 256 * 1024;
const segmentBytesMin = 1024;

export interface WalOptions {
  /** Size of a new segment file (default 64 MiB). */
  readonly segmentBytes?: number;
  /**
   * True: a missing directory or one without segments starts an empty log. False: the owner knows
   * the log existed, so either is corruption.
   */
  readonly create: boolean;
  /** The records every new segment begins with, ahead of the batch that opened it. */
  readonly prologue?: () => readonly Uint8Array[];
  /** Told what open() repaired (a torn tail dropped) and what removal could not delete. */
  readonly warn?: (message: string, fields: Record<string, unknown>) => void;
  /** The directory errors name (the storage's); default: the log's own directory. */
  readonly ownerDir?: string;
}

/** Where a record was read: for messages about it, and for the owner's per-segment bookkeeping. */
export interface WalPosition {
  readonly seq: number;
  readonly file: string;
  readonly offset: number;
}

interface OlderSegment {
  readonly seq: number;
  readonly path: string;
  readonly sizeBytes: number;
}

/** The size a segment must grow to to hold `bytes` (whole 4 KiB pages), or its own if it does. */
const grownSize = (segment: SegmentFile, bytes: number): number => (bytes <= segment.sizeBytes ? segment.sizeBytes : Math.ceil(bytes / 4096) * 4096);

export class Wal {
  readonly dir: string;
  private readonly segmentBytes: number;
  private readonly options: WalOptions;
  private active: SegmentFile;
  /** Where the next record goes in the active segment, and the CRC it chains from. */
  private offset: number;
  private crc: number;
  /** Bytes written to the active segment since its last fdatasync. */
  private unsynced = false;
  /** Appends written on the calling thread (append()'s `blocking`). */
  blockingAppends = 0;
  /** The segments before the active one, oldest first. */
  private readonly older: OlderSegment[];
  private next: Promise<SegmentFile> | null = null;
  private removal: Promise<void> = Promise.resolve();
  private appending = false;
  private closed = false;

  private constructor(dir: string, options: WalOptions, active: SegmentFile, offset: number, crc: number, older: OlderSegment[]) {
    this.dir = dir;
    this.options = options;
    this.segmentBytes = options.segmentBytes ?? defaultSegmentBytes;
    this.active = active;
    this.offset = offset;
    this.crc = crc;
    this.older = older;
    this.maybePrepareNext();
  }

  /**
   * Opens the log in `dir`, calling onRecord for every valid record in order (the payload is a
   * view into a buffer reused after the call: copy what must outlive it). onRecord may throw to
   * refuse the log; open() then throws that.
   */
  static async open(dir: string, options: WalOptions, onRecord: (payload: Buffer, at: WalPosition) => void): Promise<Wal> {
    const segmentBytes = options.segmentBytes ?? defaultSegmentBytes;
    assert(Number.isSafeInteger(segmentBytes) && segmentBytes >= segmentBytesMin, `WAL segment size ${segmentBytes} is below ${segmentBytesMin} bytes`);
    const corrupt = (what: string): Error => corruptError(options.ownerDir ?? dir, what);

    if (!fs.existsSync(dir)) {
      if (!options.create) throw corrupt(`its write-ahead log directory ${dir} is missing`);
      fs.mkdirSync(dir, { recursive: true });
    }
    const seqs: number[] = [];
    for (const name of fs.readdirSync(dir)) {
      // A segment whose preparation a crash interrupted: never in use.
      if (name.endsWith('.tmp')) fs.unlinkSync(path.join(dir, name));
      const seq = seqOfSegmentFileName(name);
      if (seq >= 0) seqs.push(seq);
    }
    seqs.sort((a, b) => a - b);
    if (seqs.length === 0) {
      if (!options.create) throw corrupt(`its write-ahead log ${dir} holds no segment file`);
      const first = await createSegment(dir, 0, segmentBytes);
      return new Wal(dir, options, first, segmentHeaderBytes, first.seed, []);
    }
    for (let i = 1; i < seqs.length; i++) {
      if (seqs[i] !== seqs[i - 1] + 1) {
        throw corrupt(`segment file ${path.join(dir, segmentFileName(seqs[i - 1] + 1))} is missing from the write-ahead log (it holds ${segmentFileName(seqs[0])}..${segmentFileName(seqs[seqs.length - 1])})`);
      }
    }

    // The last segment written to is the last whose first record slot is not empty; segments after
    // it were prepared ahead (or their first write was torn) and hold nothing.
    const files = seqs.map((seq) => path.join(dir, segmentFileName(seq)));
    const seeds: number[] = [];
    let last = 0;
    for (let i = 0; i < files.length; i++) {
      const head = readHead(files[i], segmentHeaderBytes + 4);
      const header = decodeSegmentHeader(head);
      if (!header.ok) throw corrupt(`segment file ${files[i]}: ${header.why}`);
      if (header.value.seq !== seqs[i]) throw corrupt(`segment file ${files[i]} holds segment ${segmentFileName(header.value.seq)} by its header`);
      seeds.push(header.value.seed);
      if (head.length >= segmentHeaderBytes + 4 && head.readUInt32LE(segmentHeaderBytes) !== 0) last = i;
    }

    let offset = segmentHeaderBytes;
    let crc = seeds[last];
    let torn: string | null = null;
    let dirtyTail = false;
    for (let i = 0; i <= last; i++) {
      const file = fs.readFileSync(files[i]);
      const seq = seqs[i];
      const scan = scanSegment(file, seeds[i], (payload, at) => onRecord(payload, { seq, file: files[i], offset: at }));
      if (i < last) {
        if (scan.invalid !== null) {
          throw corrupt(
            `segment file ${files[i]} is damaged at offset ${scan.endOffset} (${scan.invalid}); later segments hold records, ` +
              `so this is not the torn tail of an interrupted write`,
          );
        }
        continue;
      }
      offset = scan.endOffset;
      crc = scan.crc;
      torn = scan.invalid;
      dirtyTail = !isZero(file, scan.endOffset);
    }

    // Segments after the last one written to hold nothing valid: remove them, newest first so a
    // crash in between leaves no hole in the sequence. Preparation makes the next one again.
    for (let i = files.length - 1; i > last; i--) fs.unlinkSync(files[i]);
    if (files.length - 1 > last) await fsyncDirectory(dir);

    const active = openSegmentSync(files[last], seqs[last], seeds[last]);
    if (dirtyTail) {
      // Zero what follows the last valid record, so no byte of the torn write (or of records an
      // older write left beyond it) can ever be read as a record again.
      try {
        await writeZeros(active.fd, offset, active.sizeBytes);
        await fsFdatasync(active.fd);
      } catch (error) {
        await closeSegment(active).catch(() => {});
        throw error;
      }
      if (torn !== null) {
        options.warn?.('dropped the torn tail of the raft write-ahead log: a write interrupted by a crash, never acknowledged', {
          file: files[last],
          offset,
          why: torn,
        });
      }
    }
    const older = seqs.slice(0, last).map((seq, i) => ({ seq, path: files[i], sizeBytes: fs.statSync(files[i]).size }));
    return new Wal(dir, options, active, offset, crc, older);
  }

  /**
   * Appends the payloads as consecutive records with one write, then one fdatasync if `sync`;
   * replay gives back all of them or none. Resolves with the sequence number of the segment they
   * went to (all go to one). Appends must not overlap; after a failed one the log must not be
   * used again (what is on disk is unknown).
   *
   * `blocking`: the caller has nothing to do until the append is written, so an append of at most
   * blockingAppendBytesMax is one write on the calling thread (O_DSYNC when synced; unsynced only
   * from a storage that never syncs, --test-unsafe-no-fsync). That saves the thread pool's two
   * cross-thread wake-ups per write, each of which costs tens of µs on a VM. Anything else (larger,
   * or a synced append after unsynced ones, which needs write + fdatasync) goes through the thread
   * pool as usual.
   */
  async append(payloads: readonly Uint8Array[], sync: boolean, blocking = false): Promise<number> {
    assert(!this.closed, 'append to a closed WAL');
    assert(!this.appending, 'WAL appends must not overlap');
    assert(payloads.length > 0, 'an append holds at least one record');
    this.appending = true;
    try {
      let records = payloads;
      if (this.offset + framedBytes(records) > this.active.sizeBytes) records = await this.rollover(payloads);
      const recordBytes = framedBytes(records);
      const framed = frameRecords(records, this.crc, pagePaddingBytes(this.offset + recordBytes, this.active.sizeBytes));
      // A synced append after unsynced ones is write + fdatasync: an O_DSYNC write syncs only its own bytes.
      const dsync = sync && !this.unsynced;
      const fd = dsync ? this.active.dsyncFd : this.active.fd;
      if (blocking && (dsync || !sync) && framed.bytes.length <= blockingAppendBytesMax) {
        writeFullySync(fd, framed.bytes, this.offset);
        this.blockingAppends++;
      } else {
        await writeFully(fd, framed.bytes, this.offset);
        if (sync && !dsync) await fsFdatasync(this.active.fd);
      }
      this.offset += recordBytes;
      this.crc = framed.crc;
      this.unsynced = !sync;
      this.maybePrepareNext();
      return this.active.seq;
    } finally {
      this.appending = false;
    }
  }

  /**
   * Deletes, oldest first, the segments before the active one for which canRemove(seq) holds,
   * stopping at the first it does not. Runs in the background (the returned promise, which never
   * rejects, is for tests and close()); a segment that cannot be deleted stays, with a warning:
   * an extra old segment only replays history the owner already covers.
   */
  removeSegments(canRemove: (seq: number) => boolean, onRemoved: (seq: number) => void = () => {}): Promise<void> {
    const run = async (): Promise<void> => {
      while (this.older.length > 0 && canRemove(this.older[0].seq)) {
        const segment = this.older[0];
        await fs.promises.unlink(segment.path).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
        // One at a time, the directory synced after each: if a crash keeps only some of the
        // unlinks, they are of the oldest segments, and the sequence left has no hole.
        await fsyncDirectory(this.dir);
        this.older.shift();
        onRemoved(segment.seq);
      }
    };
    this.removal = this.removal.then(run).catch((error: unknown) =>
      this.options.warn?.('could not delete an old raft write-ahead log segment; it stays on disk until the next try', { err: error as Error }),
    );
    return this.removal;
  }

  /** Sequence numbers of the segments on disk, oldest first (the last is the active one). */
  segments(): number[] {
    return [...this.older.map((s) => s.seq), this.active.seq];
  }

  /** Bytes of the segment files (preallocated: a segment counts whole from its creation). */
  sizeBytes(): number {
    return this.older.reduce((sum, s) => sum + s.sizeBytes, this.active.sizeBytes);
  }

  /** Waits for removals and a segment in preparation, then closes the files. Does not sync. */
  async close(): Promise<void> {
    if (this.closed) return;
    assert(!this.appending, 'close the WAL after its appends are done');
    this.closed = true;
    await this.removal;
    const next = this.next;
    this.next = null;
    if (next) {
      const segment = await next.catch(() => null);
      if (segment) await closeSegment(segment);
    }
    await closeSegment(this.active);
  }

  /** Moves to the next segment; returns the records to write there: the prologue, then the payloads. */
  private async rollover(payloads: readonly Uint8Array[]): Promise<readonly Uint8Array[]> {
    if (this.offset === segmentHeaderBytes) {
      // Nothing is written here yet: grow this segment rather than leave an empty one behind.
      await growSegment(this.active, grownSize(this.active, segmentHeaderBytes + framedBytes(payloads)));
      return payloads;
    }
    // The old segment durable before anything reaches the new one: see the top of the file.
    if (this.unsynced) {
      await fsFdatasync(this.active.fd);
      this.unsynced = false;
    }
    const records = [...(this.options.prologue?.() ?? []), ...payloads];
    const next = await this.takeNext();
    await growSegment(next, grownSize(next, segmentHeaderBytes + framedBytes(records)));
    const old = this.active;
    this.active = next;
    this.offset = segmentHeaderBytes;
    this.crc = next.seed;
    this.older.push({ seq: old.seq, path: old.path, sizeBytes: old.sizeBytes });
    await closeSegment(old);
    return records;
  }

  /** The prepared next segment; made now, in line, if preparing it failed or never started. */
  private async takeNext(): Promise<SegmentFile> {
    const pending = this.next;
    this.next = null;
    if (pending) {
      try {
        return await pending;
      } catch (error) {
        this.options.warn?.('preparing the next raft write-ahead log segment failed; making it now', { err: error as Error });
      }
    }
    return createSegment(this.dir, this.active.seq + 1, this.segmentBytes);
  }

  private maybePrepareNext(): void {
    if (this.next !== null || this.closed || this.offset < this.active.sizeBytes / 2) return;
    const next = createSegment(this.dir, this.active.seq + 1, this.segmentBytes);
    // Awaited (and its failure handled) at the rollover or at close.
    next.catch(() => {});
    this.next = next;
  }
}

/** The first `bytes` bytes of a file (fewer if it is shorter). */
function readHead(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(bytes);
    const read = fs.readSync(fd, head, 0, bytes, 0);
    return head.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

const zeroBlock = Buffer.alloc(64 * 1024);

function isZero(bytes: Buffer, from: number): boolean {
  for (let p = from; p < bytes.length; p += zeroBlock.length) {
    const block = bytes.subarray(p, Math.min(bytes.length, p + zeroBlock.length));
    if (!block.equals(zeroBlock.subarray(0, block.length))) return false;
  }
  return true;
}

/**
 * The zeros an append writes after its records, up to the end of the page its last record ends in
 * (or of the segment). The segment holds zeros there already, so the content does not change: the
 * point is that every page an append touches is written to its end. Under memory pressure, or a
 * host's proactive reclaim (this VM's DAMON drops file pages idle for 60 s), the kernel evicts
 * the preallocated pages of the active segment, and a write that covers only part of an evicted
 * page must first read it from disk, inside the synced write. Written to its end, a page needs no
 * read; the next append, which starts inside it, finds it in the page cache. The flush writes the
 * same pages either way.
 */
export function pagePaddingBytes(endOffset: number, segmentBytes: number): number {
  const pageEnd = Math.ceil(endOffset / walPageBytes) * walPageBytes;
  return Math.max(0, Math.min(pageEnd, segmentBytes) - endOffset);
}
