// Proves that the write-ahead log gives back exactly the records appended, in order, across
// rollovers into new segments, after old segments are deleted, and after a crash tore its tail at
// any byte of the last record: the torn record is dropped, everything before it replays, and the
// next append continues exactly there. Stale records left beyond a torn tail are rejected by the
// CRC chain; damage anywhere but the tail of the last segment written to is refused with
// STORAGE_CORRUPT naming the file. Segment files are damaged with plain fs calls on their bytes.

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { StorageError } from '../../src/raft/storage/errors';
import { Wal, type WalOptions } from '../../src/raft/storage/wal';
import { recordHeaderBytes, scanSegment, segmentFileName, segmentHeaderBytes } from '../../src/raft/storage/wal_segment';
import { LogReplay } from '../../src/raft/storage/log_replay';
import { encodeEntriesRecord, encodeHardStateRecord, encodeSnapshotMarkerRecord } from '../../src/raft/storage/layout';
import { EntryType, type Entry } from '../../src/raft/types';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlock-wal-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'wal');
}

function record(n: number, bytes = 20): Buffer {
  const out = Buffer.alloc(bytes, n & 0xff);
  out.write(`r${n}:`, 0, 'latin1');
  return out;
}

interface Opened {
  wal: Wal;
  payloads: string[];
  seqs: number[];
  warnings: string[];
}

async function open(dir: string, options: Partial<WalOptions> = {}): Promise<Opened> {
  const payloads: string[] = [];
  const seqs: number[] = [];
  const warnings: string[] = [];
  const wal = await Wal.open(dir, { create: true, warn: (message) => warnings.push(message), ...options }, (payload, at) => {
    payloads.push(payload.toString('latin1'));
    seqs.push(at.seq);
  });
  return { wal, payloads, seqs, warnings };
}

async function openError(dir: string, options: Partial<WalOptions> = {}): Promise<StorageError> {
  try {
    const { wal } = await open(dir, options);
    await wal.close();
  } catch (error) {
    if (error instanceof StorageError) return error;
    throw error;
  }
  throw new Error('open succeeded but should have been refused');
}

const segmentPath = (dir: string, seq: number): string => path.join(dir, segmentFileName(seq));
const latin = (list: Buffer[]): string[] => list.map((b) => b.toString('latin1'));

t.test('append and replay: records come back in order, synced or not', async (t) => {
  const dir = tempDir(t);
  const a = await open(dir);
  t.same(a.payloads, [], 'a new log is empty');
  t.same(a.wal.segments(), [0]);
  const written: Buffer[] = [];
  for (let i = 1; i <= 50; i++) {
    const batch = [record(i, 1 + (i % 7) * 13), record(i + 1000, 3)];
    written.push(...batch);
    // Every third batch without fdatasync: it is in the file all the same once written.
    await a.wal.append(batch, i % 3 !== 0);
  }
  await a.wal.append([record(9999)], false);
  written.push(record(9999));
  await a.wal.close();
  const b = await open(dir);
  t.same(b.payloads, latin(written), 'every record, synced or not, in order');
  t.same(b.warnings, []);
  await b.wal.append([record(5)], true);
  await b.wal.close();
  const c = await open(dir);
  t.same(c.payloads, latin([...written, record(5)]), 'appends continue after the replayed records');
  await c.wal.close();
  t.same(fs.readdirSync(dir), [segmentFileName(0)]);
  t.equal(fs.statSync(segmentPath(dir, 0)).size, 64 * 1024 * 1024, 'the default segment is preallocated whole');
});

t.test('an empty payload is refused (it would read back as the end of the segment)', async (t) => {
  const dir = tempDir(t);
  const { wal } = await open(dir);
  await t.rejects(wal.append([Buffer.alloc(0)], true), RangeError);
  await wal.close();
});

t.test('rollover: records span many small segments, each new one beginning with the prologue', async (t) => {
  const dir = tempDir(t);
  let prologueCalls = 0;
  const prologue = () => [Buffer.from(`prologue ${++prologueCalls}`)];
  const a = await open(dir, { segmentBytes: 1024, prologue });
  const written: Buffer[] = [];
  for (let i = 1; i <= 200; i++) {
    written.push(record(i, 40));
    await a.wal.append([record(i, 40)], true);
  }
  const segments = a.wal.segments();
  t.ok(segments.length >= 8, `${segments.length} segments`);
  t.same(segments, segments.map((_, i) => i), 'numbered in sequence from 0');
  t.equal(prologueCalls, segments.length - 1, 'one prologue per rollover');
  await a.wal.close();
  t.notOk(fs.readdirSync(dir).some((n) => n.endsWith('.tmp')), 'no half-prepared segment left behind');

  const b = await open(dir, { segmentBytes: 1024, prologue });
  t.same(b.payloads.filter((p) => !p.startsWith('prologue')), latin(written), 'every record in order');
  // Each segment after the first starts with its prologue record.
  for (let seq = 1; seq < segments.length; seq++) {
    const first = b.seqs.indexOf(seq);
    t.equal(b.payloads[first], `prologue ${seq}`, `segment ${seq} begins with its prologue`);
  }
  await b.wal.close();
});

t.test('the next segment is prepared ahead, once the active one is half full', async (t) => {
  const dir = tempDir(t);
  const { wal } = await open(dir, { segmentBytes: 4096 });
  await wal.append([record(1, 1000)], true);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.notOk(fs.existsSync(segmentPath(dir, 1)), 'not before half');
  await wal.append([record(2, 1500)], true);
  for (let i = 0; i < 100 && !fs.existsSync(segmentPath(dir, 1)); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.ok(fs.existsSync(segmentPath(dir, 1)), 'segment 1 exists before the rollover needs it');
  t.equal(fs.statSync(segmentPath(dir, 1)).size, 4096);
  t.same(wal.segments(), [0], 'but is not in use yet');
  await wal.close();
  // A prepared, never-used segment is dropped at open and prepared again when needed.
  const b = await open(dir, { segmentBytes: 4096 });
  t.same(b.payloads, latin([record(1, 1000), record(2, 1500)]));
  t.same(b.warnings, []);
  await b.wal.append([record(3, 3000)], true);
  t.same(b.wal.segments(), [0, 1]);
  await b.wal.close();
});

t.test('close during a segment preparation leaves no half-written file under a final name', async (t) => {
  const dir = tempDir(t);
  const { wal } = await open(dir, { segmentBytes: 8 * 1024 * 1024 });
  await wal.append([record(1, 5 * 1024 * 1024)], false); // past half: preparation starts now
  await wal.close();
  for (const name of fs.readdirSync(dir)) {
    t.notOk(name.endsWith('.tmp'), `${name} is not a .tmp file`);
    t.equal(fs.statSync(path.join(dir, name)).size, 8 * 1024 * 1024, `${name} is whole`);
  }
  // A stray .tmp (a crash during preparation) is deleted at open.
  fs.writeFileSync(path.join(dir, `${segmentFileName(1)}.tmp`), Buffer.alloc(100, 7));
  const b = await open(dir, { segmentBytes: 8 * 1024 * 1024 });
  t.equal(b.payloads.length, 1);
  await b.wal.close();
  // (The open prepared segment 1 again, the active one being past half: under a .tmp name until whole.)
  t.same(fs.readdirSync(dir).sort(), [segmentFileName(0), segmentFileName(1)]);
  t.equal(fs.statSync(segmentPath(dir, 1)).size, 8 * 1024 * 1024);
});

t.test('a batch larger than a segment gets a segment of its size', async (t) => {
  const dir = tempDir(t);
  const a = await open(dir, { segmentBytes: 64 * 1024, prologue: () => [Buffer.from('P')] });
  const big = record(2, 1024 * 1024);
  await a.wal.append([record(1)], true);
  await a.wal.append([big, record(3)], true);
  await a.wal.append([record(4, 5000)], true); // more than the grown segment's page slack
  t.same(a.wal.segments(), [0, 1, 2]);
  t.ok(fs.statSync(segmentPath(dir, 1)).size >= 1024 * 1024 + 100, 'segment 1 grew to hold the batch');
  await a.wal.close();
  const b = await open(dir, { segmentBytes: 64 * 1024 });
  t.same(b.payloads, latin([record(1), Buffer.from('P'), big, record(3), Buffer.from('P'), record(4, 5000)]));
  await b.wal.close();

  // The very first batch too: the empty first segment grows instead of being left behind empty.
  const dir2 = tempDir(t);
  const c = await open(dir2, { segmentBytes: 64 * 1024 });
  await c.wal.append([big], true);
  t.same(c.wal.segments(), [0]);
  await c.wal.close();
  const d = await open(dir2, { segmentBytes: 64 * 1024 });
  t.same(d.payloads, latin([big]));
  await d.wal.close();
});

t.test('old segments deleted: replay starts at the first one left; a hole in the sequence is corruption', async (t) => {
  const dir = tempDir(t);
  const a = await open(dir, { segmentBytes: 1024 });
  const written: Array<{ seq: number; payload: Buffer }> = [];
  for (let i = 1; i <= 100; i++) written.push({ seq: await a.wal.append([record(i, 40)], true), payload: record(i, 40) });
  const removed: number[] = [];
  await a.wal.removeSegments((seq) => seq < 3, (seq) => removed.push(seq));
  t.same(removed, [0, 1, 2]);
  t.equal(a.wal.segments()[0], 3);
  // The active segment is never removed, whatever the predicate says.
  const active = a.wal.segments().at(-1)!;
  await a.wal.removeSegments(() => true);
  t.same(a.wal.segments(), [active]);
  await a.wal.close();
  const b = await open(dir, { segmentBytes: 1024 });
  t.same(b.payloads, latin(written.filter((w) => w.seq === active).map((w) => w.payload)));
  await b.wal.append([record(1000, 900)], true);
  await b.wal.append([record(1001, 900)], true);
  await b.wal.close();

  const segments = fs.readdirSync(dir).sort();
  t.ok(segments.length >= 3);
  fs.unlinkSync(path.join(dir, segments[1]));
  const error = await openError(dir, { segmentBytes: 1024 });
  t.equal(error.code, 'STORAGE_CORRUPT');
  t.match(error.message, `segment file ${path.join(dir, segments[1])} is missing`);
});

/** A log of `count` single-record appends in one segment, closed; returns the segment's bytes and each record's offset. */
async function oneSegmentLog(dir: string, count: number, lastAppend: Buffer[] = []): Promise<{ bytes: Buffer; offsets: number[]; records: Buffer[] }> {
  const { wal } = await open(dir, { segmentBytes: 4096 });
  const records: Buffer[] = [];
  for (let i = 1; i <= count; i++) {
    records.push(record(i, 10 + i));
    await wal.append([records[i - 1]], true);
  }
  if (lastAppend.length > 0) await wal.append(lastAppend, true);
  await wal.close();
  const offsets = [segmentHeaderBytes];
  for (const r of [...records, ...lastAppend]) offsets.push(offsets[offsets.length - 1] + recordHeaderBytes + r.length);
  return { bytes: fs.readFileSync(segmentPath(dir, 0)), offsets, records };
}

t.test('a torn tail at every byte of the last append: dropped whole, the rest replays, appends continue there', async (t) => {
  const source = tempDir(t);
  // The last append is three records (as a Raft save is entries, then hard state): all or nothing.
  const last = [record(100, 17), record(101, 5), record(102, 9)];
  const { bytes, offsets, records } = await oneSegmentLog(source, 4, last);
  const lastStart = offsets[4];
  const lastEnd = offsets[7];
  const before = latin(records);
  let warned = 0;
  for (const how of ['zeroed', 'truncated'] as const) {
    for (let cut = lastStart; cut < lastEnd; cut++) {
      const dir = tempDir(t);
      fs.mkdirSync(dir);
      const damaged = Buffer.from(bytes);
      damaged.fill(0, cut);
      fs.writeFileSync(segmentPath(dir, 0), how === 'zeroed' ? damaged : damaged.subarray(0, cut));
      const a = await open(dir, { segmentBytes: 4096 });
      if (JSON.stringify(a.payloads) !== JSON.stringify(before)) {
        t.fail(`${how} at ${cut}: replayed ${a.payloads.length} records`);
        await a.wal.close();
        continue;
      }
      warned += a.warnings.length;
      await a.wal.append([record(77, 30)], true);
      await a.wal.close();
      const b = await open(dir, { segmentBytes: 4096 });
      t.same(b.payloads, [...before, ...latin([record(77, 30)])], `${how} at byte ${cut - lastStart} of the last append`);
      t.same(b.warnings, [], 'the log is whole again');
      await b.wal.close();
    }
  }
  t.ok(warned > 0, `the dropped torn tails were reported (${warned} times)`);
  // Uncut, the last append is all there.
  const whole = tempDir(t);
  fs.mkdirSync(whole);
  fs.writeFileSync(segmentPath(whole, 0), bytes);
  const c = await open(whole, { segmentBytes: 4096 });
  t.same(c.payloads, [...before, ...latin(last)]);
  await c.wal.close();
});

t.test('stale records beyond a torn tail are rejected by the CRC chain', async (t) => {
  const dir = tempDir(t);
  const { bytes, records, offsets } = await oneSegmentLog(dir, 3);
  const staleThird = bytes.subarray(offsets[2], offsets[3]);

  // A crash tore record 2 (its last bytes lost) while record 3 reached the disk.
  const torn = Buffer.from(bytes);
  torn.fill(0, offsets[2] - 3, offsets[2]);
  fs.writeFileSync(segmentPath(dir, 0), torn);
  const a = await open(dir, { segmentBytes: 4096 });
  t.same(a.payloads, latin(records.slice(0, 1)), 'replay stops at the torn record: record 3 is not loaded');
  t.equal(a.warnings.length, 1);
  // After recovery a new record of the same length goes where record 2 began.
  const replacement = Buffer.alloc(records[1].length, 0x5a);
  await a.wal.append([replacement], true);
  await a.wal.close();

  // Put record 3's old bytes back after it (as if zeroing the tail had not happened): well-formed,
  // but chained from the old record 2, so the new one's CRC does not lead to it.
  const file = fs.readFileSync(segmentPath(dir, 0));
  staleThird.copy(file, offsets[2]);
  fs.writeFileSync(segmentPath(dir, 0), file);
  const scanned: Buffer[] = [];
  const scan = scanSegment(file, file.readUInt32LE(16), (payload) => scanned.push(Buffer.from(payload)));
  t.same(latin(scanned), latin([records[0], replacement]), 'the stale record is not read');
  t.match(scan.invalid, /CRC/);
  t.equal(scan.endOffset, offsets[2]);
  const b = await open(dir, { segmentBytes: 4096 });
  t.same(b.payloads, latin([records[0], replacement]));
  await b.wal.close();
});

t.test('damage outside the tail of the last segment written to is corruption naming the file', async (t) => {
  const build = async (t: { teardown(fn: () => void): void }): Promise<string> => {
    const dir = tempDir(t);
    const { wal } = await open(dir, { segmentBytes: 1024 });
    for (let i = 1; i <= 60; i++) await wal.append([record(i, 40)], true);
    await wal.close();
    return dir;
  };

  await t.test('a flipped byte in a record of a segment before the last', async (t) => {
    const dir = await build(t);
    const file = segmentPath(dir, 1);
    const bytes = fs.readFileSync(file);
    bytes[segmentHeaderBytes + recordHeaderBytes + 50 + 5] ^= 0x01; // inside the second record
    fs.writeFileSync(file, bytes);
    const error = await openError(dir, { segmentBytes: 1024 });
    t.equal(error.code, 'STORAGE_CORRUPT');
    t.match(error.message, `segment file ${file} is damaged at offset ${segmentHeaderBytes + recordHeaderBytes + 40}`);
    t.match(error.message, /CRC/);
  });

  await t.test('a segment header', async (t) => {
    const dir = await build(t);
    const file = segmentPath(dir, 2);
    const bytes = fs.readFileSync(file);
    bytes[9] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const error = await openError(dir, { segmentBytes: 1024 });
    t.equal(error.code, 'STORAGE_CORRUPT');
    t.match(error.message, `segment file ${file}: the header CRC does not match`);
  });

  await t.test('a segment file holding another segment', async (t) => {
    const dir = await build(t);
    fs.copyFileSync(segmentPath(dir, 0), segmentPath(dir, 1));
    const error = await openError(dir, { segmentBytes: 1024 });
    t.equal(error.code, 'STORAGE_CORRUPT');
    t.match(error.message, `segment file ${segmentPath(dir, 1)} holds segment ${segmentFileName(0)} by its header`);
  });

  await t.test('a log the owner knows existed but is gone', async (t) => {
    const dir = await build(t);
    const error = await openError(path.join(dir, 'nope'), { create: false });
    t.match(error.message, /write-ahead log directory .* is missing/);
    for (const name of fs.readdirSync(dir)) fs.unlinkSync(path.join(dir, name));
    const empty = await openError(dir, { create: false });
    t.match(empty.message, /holds no segment file/);
  });
});

t.test('a torn write in the active segment while the next one is already prepared: still a torn tail', async (t) => {
  const dir = tempDir(t);
  const { wal } = await open(dir, { segmentBytes: 4096 });
  await wal.append([record(1, 2500)], true);
  for (let i = 0; i < 100 && !fs.existsSync(segmentPath(dir, 1)); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await wal.append([record(2, 200)], true);
  await wal.close();
  t.ok(fs.existsSync(segmentPath(dir, 1)), 'segment 1 prepared');
  const file = segmentPath(dir, 0);
  const bytes = fs.readFileSync(file);
  bytes[segmentHeaderBytes + recordHeaderBytes + 2500 + recordHeaderBytes + 100] ^= 0xff;
  fs.writeFileSync(file, bytes);
  const b = await open(dir, { segmentBytes: 4096 });
  t.same(b.payloads, latin([record(1, 2500)]));
  t.equal(b.warnings.length, 1);
  await b.wal.close();
});

t.test('replayed through LogReplay: a later entries record overwrites the suffix, markers and hard state apply in order', async (t) => {
  const entries = (from: number, to: number, term: number): Entry[] => {
    const out: Entry[] = [];
    for (let index = from; index <= to; index++) out.push({ index, term, type: EntryType.Normal, data: Buffer.from(`${index}@${term}`) });
    return out;
  };
  const dir = tempDir(t);
  const { wal } = await open(dir, { segmentBytes: 1024 });
  await wal.append([encodeEntriesRecord(entries(1, 10, 1)), encodeHardStateRecord({ term: 1, vote: 'a', commit: 3 })], true);
  await wal.append([encodeEntriesRecord(entries(6, 7, 2)), encodeHardStateRecord({ term: 2, vote: 'b', commit: 5 })], true);
  await wal.append([encodeSnapshotMarkerRecord(4, 1, true)], true);
  await wal.append([encodeEntriesRecord(entries(8, 8, 2))], false);
  await wal.close();
  const replay = new LogReplay(dir);
  const again = await Wal.open(dir, { create: false }, (payload, at) => replay.apply(payload, at));
  await again.close();
  const result = replay.finish({ index: 4, term: 1, conf: { voters: [], learners: [], votersOutgoing: [] }, dataBytes: 0 });
  t.same(
    result.entries.map((e) => `${e.index}@${e.term}`),
    ['5@1', '6@2', '7@2', '8@2'],
  );
  t.same(result.hardState, { term: 2, vote: 'b', commit: 5 });
  t.same(result.marker, { index: 4, term: 1 });
  t.equal(result.missingMarker, null);
});

/** Bytes this process has made the kernel read from a block device (/proc/self/io read_bytes). */
function diskReadBytes(): number {
  return Number(/^read_bytes: (\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'latin1'))![1]);
}

/** Drops a file's clean pages from the page cache (GNU dd: posix_fadvise DONTNEED on the whole file). */
function evictFromPageCache(file: string): void {
  execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
}

t.test('appends into segment pages the kernel dropped from its page cache read nothing from disk', async (t) => {
  const dir = tempDir(t);
  const { wal } = await open(dir, { segmentBytes: 1024 * 1024 });
  t.teardown(() => wal.close());
  await wal.append([record(0, 300)], true);
  const segment = segmentPath(dir, 0);
  // What a host's proactive reclaim, or memory pressure, does to the preallocated pages ahead.
  evictFromPageCache(segment);
  const probe = diskReadBytes();
  fs.readFileSync(segment);
  if (diskReadBytes() === probe) {
    t.plan(0, 'this file system does not read evicted pages back from a disk (tmpfs?): nothing to measure');
    return;
  }
  evictFromPageCache(segment);
  // The first append starts inside a page written before the eviction: that one page is read.
  await wal.append([record(1, 300)], true);
  const before = diskReadBytes();
  // 300 more synced appends of 300-byte records (~92 KB): each starts in the page the one before
  // wrote to its end, and about one in fourteen reaches into a page not written since the eviction.
  for (let n = 2; n <= 301; n++) await wal.append([record(n, 300)], true, n % 2 === 0);
  t.equal(diskReadBytes() - before, 0, 'no page was read back to be written in part');
  await wal.close();
  const reopened = await open(dir);
  t.equal(reopened.payloads.length, 302, 'every record replays');
  t.equal(reopened.payloads[301], record(301, 300).toString('latin1'));
  await reopened.wal.close();
});
