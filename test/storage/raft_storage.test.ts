// Proves that RaftStorage gives back exactly what was saved (hard state, entries, snapshot) after
// close and reopen, that overwriting a suffix removes the stale tail, that a snapshot removes the
// entries it covers (or the whole log when the log disagrees with it) and the WAL segments holding
// only those, that a torn WAL tail is dropped while everything before it loads, that a snapshot
// save a crash cut between its two writes is completed at open, and that a directory of another
// node or cluster, of another format version, or with damaged records is refused with a
// StorageError whose code is stable and whose message names the directory. Damage is made with a
// raw classic-level handle on the same directory (meta, snapshot) or by appending crafted records
// to, or flipping bytes of, its write-ahead log segments.

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { RaftStorage, type StorageOptions } from '../../src/raft/storage/raft_storage';
import { StorageError } from '../../src/raft/storage/errors';
import { Packr } from 'msgpackr';
import {
  decodeWalRecord,
  encode,
  encodeEntriesRecord,
  encodeHardStateRecord,
  encodeSnapshotMarkerRecord,
  metaKey,
  snapshotMetaKey,
  WalRecordType,
  type WalRecord,
} from '../../src/raft/storage/layout';
import { Wal } from '../../src/raft/storage/wal';
import { writeSnapshotFile } from '../../src/raft/storage/snapshot_file';
import { scanSegment, segmentFileName } from '../../src/raft/storage/wal_segment';
import { EntryType, type ConfState, type Entry } from '../../src/raft/types';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlock-storage-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'raft');
}

const conf: ConfState = { voters: ['n1', 'n2', 'n3'], learners: [], votersOutgoing: [] };

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) {
    out.push({ index, term, type: index % 5 === 0 ? EntryType.ConfChange : EntryType.Normal, data: Buffer.from(`cmd ${index}@${term}`) });
  }
  return out;
}

function plain(list: readonly Entry[]): Array<{ index: number; term: number; type: number; data: string }> {
  return list.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('latin1') }));
}

async function rawKeys(dir: string, prefix: string): Promise<string[]> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const keys: string[] = [];
  const p = prefix.charCodeAt(0);
  for await (const key of db.keys({ gte: new Uint8Array([p]), lt: new Uint8Array([p + 1]) })) keys.push(Buffer.from(key).toString('hex'));
  await db.close();
  return keys;
}

async function rawWrite(dir: string, edit: (db: ClassicLevel<Uint8Array, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  await edit(db);
  await db.close();
}

/** Appends raw records to the storage's WAL, as a damaged or hand-made log would hold them. */
async function walAppend(dir: string, payloads: Buffer[]): Promise<void> {
  const wal = await Wal.open(path.join(dir, 'wal'), { create: false }, () => {});
  await wal.append(payloads, true);
  await wal.close();
}

/** Replaces the storage's WAL with a new one holding just `payloads`. */
async function walReplace(dir: string, payloads: Buffer[]): Promise<void> {
  fs.rmSync(path.join(dir, 'wal'), { recursive: true });
  const wal = await Wal.open(path.join(dir, 'wal'), { create: true }, () => {});
  await wal.append(payloads, true);
  await wal.close();
}

/** Every record in the storage's WAL, decoded, in order. */
async function walRecords(dir: string): Promise<WalRecord[]> {
  const records: WalRecord[] = [];
  const wal = await Wal.open(path.join(dir, 'wal'), { create: false }, (payload) => {
    const decoded = decodeWalRecord(payload);
    if (!decoded.ok) throw new Error(decoded.why);
    records.push(decoded.value);
  });
  await wal.close();
  return records;
}

const walFiles = (dir: string): string[] => fs.readdirSync(path.join(dir, 'wal')).sort();

async function openError(dir: string, identity: { nodeId: string; clusterId?: string }, options: StorageOptions = {}): Promise<StorageError> {
  try {
    const s = await RaftStorage.open(dir, identity, options);
    await s.close();
  } catch (error) {
    if (error instanceof StorageError) return error;
    throw error;
  }
  throw new Error('open succeeded but should have been refused');
}

t.test('a new directory opens empty and records its identity', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1' });
  const loaded = s.loaded();
  t.same(loaded.hardState, { term: 0, vote: '', commit: 0 });
  t.equal(loaded.snapshot, null);
  t.same(loaded.entries, []);
  t.equal(loaded.meta.nodeId, 'n1');
  t.equal(loaded.meta.formatVersion, 2);
  t.same(walFiles(dir), [segmentFileName(0)], 'the write-ahead log starts with one segment');
  t.match(loaded.meta.clusterId, /^[0-9a-f-]{36}$/, 'a random cluster id is stored when none is given');
  t.equal(s.lastIndex, 0);
  await s.close();
  const again = await RaftStorage.open(dir, { nodeId: 'n1' });
  t.equal(again.loaded().meta.clusterId, loaded.meta.clusterId, 'the stored cluster id is kept');
  t.equal(again.loaded().meta.createdAtMs, loaded.meta.createdAtMs);
  await again.close();
});

t.test('round trip: what was saved is what reopen loads', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: entries(1, 3, 1) });
  await s.save({ hardState: { term: 2, vote: 'n2', commit: 3 }, entries: entries(4, 9, 2) });
  await s.save({ entries: entries(10, 10, 2) });
  await s.save({ hardState: { term: 2, vote: 'n2', commit: 10 } });
  t.equal(s.lastIndex, 10);
  t.equal(s.stats().fsyncCount, 4, 'one synced write per save');
  await s.close();

  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  const loaded = r.loaded();
  t.same(loaded.hardState, { term: 2, vote: 'n2', commit: 10 });
  t.same(plain(loaded.entries), plain([...entries(1, 3, 1), ...entries(4, 10, 2)]));
  t.equal(loaded.snapshot, null);
  t.equal(r.lastIndex, 10);
  t.equal(r.firstIndex, 1);
  t.ok((await r.approximateSizeBytes()) >= 0);
  await r.close();
});

t.test('unsafeNoFsync (--test-unsafe-no-fsync): no save is synced, and every one reads back', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' }, { unsafeNoFsync: true });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: entries(1, 3, 1), blocking: true });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 3 }, entries: entries(4, 6, 1) });
  await s.save({ entries: entries(7, 7, 1), blocking: true });
  t.equal(s.stats().fsyncCount, 0, 'no fsync');
  t.equal(s.stats().blockingWrites, 2, 'a blocking save is still written on the calling thread');
  await s.close();

  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.same(r.loaded().hardState, { term: 1, vote: 'n1', commit: 3 });
  t.same(plain(r.loaded().entries), plain(entries(1, 7, 1)));
  await r.close();
});

t.test('saves are applied in call order even when not awaited one by one', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  const pending: Promise<void>[] = [];
  for (let i = 1; i <= 20; i++) pending.push(s.save({ hardState: { term: 1, vote: '', commit: i - 1 }, entries: entries(i, i, 1) }));
  await Promise.all(pending);
  await s.close();
  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.same(plain(r.loaded().entries), plain(entries(1, 20, 1)));
  t.equal(r.loaded().hardState.commit, 19);
  await r.close();
});

t.test('overwriting a suffix deletes the stale tail', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 2 }, entries: entries(1, 10, 1) });
  // A new leader of term 2 has only 1..5 in common with us and sends 6..7.
  await s.save({ hardState: { term: 2, vote: '', commit: 2 }, entries: entries(6, 7, 2) });
  t.equal(s.lastIndex, 7);
  // Then appends continue from the new last index without a gap.
  await s.save({ entries: entries(8, 8, 2) });
  await s.close();
  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.same(plain(r.loaded().entries), plain([...entries(1, 5, 1), ...entries(6, 8, 2)]));
  await r.close();
  t.same(await rawKeys(dir, 'e'), [], 'no entry in LevelDB: the log is in the WAL');
  t.same(await rawKeys(dir, 'h'), [], 'nor the hard state');
});

t.test('a local snapshot removes the entries it covers and keeps the rest; its data is a file', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 8 }, entries: entries(1, 10, 1) });
  const big = Buffer.alloc(2 * 1024 * 1024 + 12345);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
  await s.save({ snapshot: { meta: { index: 6, term: 1, conf }, data: big } });
  t.equal(s.snapshotIndex, 6);
  t.equal(s.firstIndex, 7);
  t.equal(s.lastIndex, 10);
  await t.rejects(s.compact(7), { name: 'AssertionError' }, 'cannot compact beyond the saved snapshot');
  await s.compact(6);
  await s.close();

  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  const loaded = r.loaded();
  t.same(loaded.snapshot?.meta, { index: 6, term: 1, conf });
  t.ok(Buffer.from(loaded.snapshot!.data).equals(big), 'snapshot data round-trips');
  t.same(plain(loaded.entries), plain(entries(7, 10, 1)));
  t.same(loaded.hardState, { term: 1, vote: 'n1', commit: 8 });
  t.equal(r.stats().snapshotBytes, big.length);
  // A later, smaller snapshot replaces the file: no stale one may survive.
  await r.save({ snapshot: { meta: { index: 9, term: 1, conf }, data: Buffer.from('small') } });
  await r.close();
  t.same(fs.readdirSync(path.join(dir, 'snapshots')), ['0000000000000009-0000000000000001.snap'], 'only the new snapshot file is left');
  const r2 = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.equal(Buffer.from(r2.loaded().snapshot!.data).toString(), 'small');
  t.same(plain(r2.loaded().entries), plain(entries(10, 10, 1)));
  // compact() hands back the current snapshot when asked for an older index: saving it again is harmless.
  await r2.save({ snapshot: { meta: { index: 9, term: 1, conf }, data: Buffer.from('small') } });
  await r2.save({ snapshot: { meta: { index: 4, term: 1, conf }, data: Buffer.from('older') } });
  t.equal(r2.snapshotIndex, 9);
  t.equal(r2.lastIndex, 10);
  await r2.close();
  const r3 = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.equal(Buffer.from(r3.loaded().snapshot!.data).toString(), 'small', 'an older snapshot never replaces a newer one');
  t.same(plain(r3.loaded().entries), plain(entries(10, 10, 1)));
  await r3.close();
});

t.test('a snapshot the log disagrees with replaces the whole log', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.save({ hardState: { term: 1, vote: '', commit: 2 }, entries: entries(1, 10, 1) });
  // The leader's entry 8 has term 3, ours term 1: our 9..10 are from a dead branch.
  await s.save({ hardState: { term: 3, vote: '', commit: 8 }, snapshot: { meta: { index: 8, term: 3, conf }, data: Buffer.from('S') } });
  t.equal(s.lastIndex, 8);
  await s.save({ entries: entries(9, 9, 3) });
  // A snapshot beyond the end of the log also leaves no entry behind.
  await s.save({ hardState: { term: 3, vote: '', commit: 20 }, snapshot: { meta: { index: 20, term: 3, conf }, data: Buffer.from('T') } });
  await s.close();
  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.same(r.loaded().entries, []);
  t.equal(r.loaded().snapshot?.meta.index, 20);
  t.equal(r.lastIndex, 20);
  await r.save({ entries: entries(21, 22, 3) });
  await r.close();
  const r2 = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.same(plain(r2.loaded().entries), plain(entries(21, 22, 3)));
  await r2.close();
});

t.test('caller mistakes are assertions and do not poison the storage', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.save({ hardState: { term: 1, vote: '', commit: 0 }, entries: entries(1, 3, 1) });
  await t.rejects(s.save({ entries: entries(5, 6, 1) }), { name: 'AssertionError' }, 'a gap after the last index');
  await t.rejects(s.save({ hardState: { term: 1, vote: '', commit: 4 } }), { name: 'AssertionError' }, 'commit beyond the log');
  await t.rejects(s.save({ entries: entries(4, 4, 2) }), { name: 'AssertionError' }, 'an entry term beyond the saved term');
  await s.save({ entries: entries(4, 4, 1) });
  t.equal(s.lastIndex, 4);
  await s.close();
  await t.rejects(s.save({ entries: entries(5, 5, 1) }), { code: 'STORAGE_FAILED' }, 'no write after close');
});

t.test('a directory of another node or cluster is refused', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.close();
  const node = await openError(dir, { nodeId: 'n2', clusterId: 'c1' });
  t.equal(node.code, 'STORAGE_IDENTITY_MISMATCH');
  t.match(node.message, dir);
  t.match(node.message, /belongs to node "n1", not "n2"/);
  const cluster = await openError(dir, { nodeId: 'n1', clusterId: 'c2' });
  t.equal(cluster.code, 'STORAGE_IDENTITY_MISMATCH');
  t.match(cluster.message, /belongs to cluster "c1".*configured for cluster "c2"/);
  const ok = await RaftStorage.open(dir, { nodeId: 'n1' });
  t.equal(ok.loaded().meta.clusterId, 'c1', 'no cluster id given: the stored one is accepted');
  const locked = await openError(dir, { nodeId: 'n1' });
  t.equal(locked.code, 'STORAGE_LOCKED', 'a second open of a directory in use is refused');
  await ok.close();
});

t.test('an unknown format version is refused', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.close();
  // Version 1 kept the log in LevelDB; version 3 is a future one.
  for (const version of [1, 3]) {
    await rawWrite(dir, (db) => db.put(metaKey, encode({ formatVersion: version, nodeId: 'n1', clusterId: 'c1', createdAtMs: 1, extra: true })));
    const error = await openError(dir, { nodeId: 'n1', clusterId: 'c1' });
    t.equal(error.code, 'STORAGE_VERSION');
    t.match(error.message, `format version ${version}, but this build reads version 2`);
  }
});

t.test('damaged records are refused with STORAGE_CORRUPT naming the directory', async (t) => {
  const entryRecord = (index: number, term: number, data = 'x'): Buffer => encodeEntriesRecord([{ index, term, type: EntryType.Normal, data: Buffer.from(data) }]);
  const cases: Array<{ name: string; damage: (dir: string) => Promise<void>; message: RegExp }> = [
    { name: 'garbage in an entries record', damage: (dir) => walAppend(dir, [Buffer.from([WalRecordType.Entries, 0xc1, 0xff, 0x00])]), message: /entries record in .*\.wal at offset \d+: undecodable/ },
    {
      name: 'a well-formed record of the wrong shape',
      damage: (dir) => walAppend(dir, [Buffer.concat([Buffer.from([WalRecordType.Entries]), encode({ term: 'x' })])]),
      message: /entries record in .*: not a \[firstIndex, \[entry, \.\.\.\]\] entries record/,
    },
    { name: 'a record of an unknown type', damage: (dir) => walAppend(dir, [Buffer.from([9, 0x90])]), message: /unknown record type 9/ },
    { name: 'entries leaving a gap', damage: (dir) => walAppend(dir, [entryRecord(7, 1)]), message: /gap in the log: entry 5 is followed by entry 7/ },
    { name: 'a term going back', damage: (dir) => walAppend(dir, [entryRecord(4, 0)]), message: /entry 4 has term 0, lower than entry 3's term 1/ },
    {
      name: 'the first entries missing',
      damage: (dir) => walReplace(dir, [encodeEntriesRecord(entries(2, 5, 1)), encodeHardStateRecord({ term: 1, vote: '', commit: 2 })]),
      message: /starts at index 2 with no snapshot/,
    },
    {
      name: 'commit beyond the last index',
      damage: (dir) => walAppend(dir, [encodeHardStateRecord({ term: 1, vote: '', commit: 6 })]),
      message: /commit index 6 is beyond the last log index 5/,
    },
    {
      name: 'an entry term beyond the hard state term',
      damage: (dir) => walAppend(dir, [encodeHardStateRecord({ term: 0, vote: '', commit: 2 })]),
      message: /the last entry has term 1, beyond the hard state's term 0/,
    },
    { name: 'an undecodable hard state', damage: (dir) => walAppend(dir, [Buffer.from([WalRecordType.HardState, 0x67, 0x61])]), message: /hard state record/ },
    {
      name: 'a snapshot marker without the stored snapshot',
      damage: (dir) => walAppend(dir, [encodeSnapshotMarkerRecord(3, 1, true)]),
      message: /the write-ahead log records a snapshot at index 3, but the stored snapshot \(key "s"\) is missing/,
    },
    {
      name: 'a snapshot marker disagreeing with the entry it keeps the log after',
      damage: (dir) => walAppend(dir, [encodeSnapshotMarkerRecord(3, 2, true)]),
      message: /entry 3 has term 1, but the snapshot at that index has term 2/,
    },
    { name: 'a missing meta record', damage: (dir) => rawWrite(dir, (db) => db.del(metaKey)), message: /no meta record/ },
    {
      name: 'a missing write-ahead log',
      damage: async (dir) => fs.rmSync(path.join(dir, 'wal'), { recursive: true }),
      message: /its write-ahead log directory .*wal is missing/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const dir = tempDir(t);
      const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
      await s.save({ hardState: { term: 1, vote: '', commit: 2 }, entries: entries(1, 5, 1) });
      await s.close();
      await c.damage(dir);
      const error = await openError(dir, { nodeId: 'n1', clusterId: 'c1' });
      t.equal(error.code, 'STORAGE_CORRUPT');
      t.match(error.message, dir);
      t.match(error.message, c.message);
      t.match(error.message, /restore this directory from a backup/);
    });
  }

  await t.test('entries that do not follow the snapshot', async (t) => {
    const dir = tempDir(t);
    const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
    await s.save({ hardState: { term: 1, vote: '', commit: 5 }, entries: entries(1, 8, 1) });
    await s.save({ snapshot: { meta: { index: 5, term: 1, conf }, data: Buffer.from('S') } });
    await s.close();
    await walReplace(dir, [
      encodeSnapshotMarkerRecord(5, 1, true),
      encodeHardStateRecord({ term: 1, vote: '', commit: 5 }),
      encodeEntriesRecord(entries(7, 8, 1)),
    ]);
    const error = await openError(dir, { nodeId: 'n1', clusterId: 'c1' });
    t.equal(error.code, 'STORAGE_CORRUPT');
    t.match(error.message, /starts at index 7, but the snapshot ends at 5/);
  });

  await t.test('a missing or damaged snapshot file', async (t) => {
    const dir = tempDir(t);
    const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
    await s.save({ hardState: { term: 1, vote: '', commit: 2 }, entries: entries(1, 3, 1) });
    await s.save({ snapshot: { meta: { index: 2, term: 1, conf }, data: Buffer.alloc(10_000, 7) } });
    await s.close();
    const file = path.join(dir, 'snapshots', '0000000000000002-0000000000000001.snap');
    const good = fs.readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] ^= 1;
    fs.writeFileSync(file, flipped);
    let error = await openError(dir, { nodeId: 'n1', clusterId: 'c1' });
    t.equal(error.code, 'STORAGE_CORRUPT');
    t.match(error.message, /snapshot file .*0000000000000002-0000000000000001\.snap: data checksum mismatch/);
    fs.rmSync(file);
    error = await openError(dir, { nodeId: 'n1', clusterId: 'c1' });
    t.match(error.message, /the snapshot file .*0000000000000002-0000000000000001\.snap is missing/);
  });

  await t.test('a snapshot file whose meta record a crash kept out is not loaded, and is removed', async (t) => {
    const dir = tempDir(t);
    const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
    await s.save({ hardState: { term: 1, vote: '', commit: 2 }, entries: entries(1, 3, 1) });
    await s.save({ snapshot: { meta: { index: 2, term: 1, conf }, data: Buffer.from('two') } });
    await s.close();
    await writeSnapshotFile(path.join(dir, 'snapshots'), { index: 3, term: 1, conf }, Buffer.from('three'));
    fs.writeFileSync(path.join(dir, 'snapshots', 'x.snap.tmp'), 'half');
    const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
    t.equal(Buffer.from(r.loaded().snapshot!.data).toString(), 'two');
    t.same(fs.readdirSync(path.join(dir, 'snapshots')), ['0000000000000002-0000000000000001.snap']);
    await r.close();
  });

  await t.test('a flipped byte in a WAL segment before the last one written to', async (t) => {
    const dir = tempDir(t);
    const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' }, { walSegmentBytes: 1024 });
    for (let i = 1; i <= 60; i++) await s.save({ hardState: { term: 1, vote: '', commit: i - 1 }, entries: entries(i, i, 1) });
    await s.close();
    const files = walFiles(dir);
    t.ok(files.length >= 3, `${files.length} segments`);
    const file = path.join(dir, 'wal', files[1]);
    const bytes = fs.readFileSync(file);
    bytes[100] ^= 0x20;
    fs.writeFileSync(file, bytes);
    const error = await openError(dir, { nodeId: 'n1', clusterId: 'c1' }, { walSegmentBytes: 1024 });
    t.equal(error.code, 'STORAGE_CORRUPT');
    t.match(error.message, dir);
    t.match(error.message, `segment file ${file} is damaged at offset`);
    t.match(error.message, /not the torn tail of an interrupted write/);
  });
});

/** The offsets of the records in the storage's active (last) WAL segment, and its path. */
function lastSegmentRecords(dir: string): { file: string; bytes: Buffer; offsets: number[]; end: number } {
  const file = path.join(dir, 'wal', walFiles(dir).at(-1)!);
  const bytes = fs.readFileSync(file);
  const offsets: number[] = [];
  const scan = scanSegment(bytes, bytes.readUInt32LE(16), (_payload, offset) => offsets.push(offset));
  return { file, bytes, offsets, end: scan.endOffset };
}

t.test('a torn WAL tail is dropped and everything before it loads; the log goes on from there', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: entries(1, 3, 1) });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 3 }, entries: entries(4, 6, 1) });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 6 }, entries: entries(7, 9, 1) });
  await s.close();
  // The last save wrote two records (entries 7..9, then the hard state): cut in the first of them.
  const { file, bytes, offsets } = lastSegmentRecords(dir);
  t.equal(offsets.length, 6);
  fs.writeFileSync(file, bytes.subarray(0, offsets[4] + 20));
  const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const logger = { warn: (message: string, fields?: Record<string, unknown>) => warnings.push({ message, fields }) };
  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' }, { logger });
  t.same(plain(r.loaded().entries), plain(entries(1, 6, 1)), 'the saves before the torn one');
  t.same(r.loaded().hardState, { term: 1, vote: 'n1', commit: 3 });
  t.equal(warnings.length, 1);
  t.match(warnings[0].message, /torn tail/);
  t.match(warnings[0].fields, { dir, file, offset: offsets[4] });
  await r.save({ hardState: { term: 2, vote: 'n2', commit: 6 }, entries: entries(7, 7, 2) });
  await r.close();
  const r2 = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' }, { logger });
  t.same(plain(r2.loaded().entries), plain([...entries(1, 6, 1), ...entries(7, 7, 2)]));
  t.same(r2.loaded().hardState, { term: 2, vote: 'n2', commit: 6 });
  t.equal(warnings.length, 1, 'nothing more to repair');
  await r2.close();
});

t.test('a well-formed record with a stale CRC chain after the torn point is not loaded', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: entries(1, 3, 1) });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 3 }, entries: entries(4, 6, 1) });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 6 }, entries: entries(7, 9, 1) });
  await s.close();
  const before = lastSegmentRecords(dir);
  const thirdSave = Buffer.from(before.bytes.subarray(before.offsets[4], before.end));
  // A crash tore the second save (its hard state record lost) while the third reached the disk.
  const torn = Buffer.from(before.bytes);
  torn.fill(0, before.offsets[3], before.offsets[4]);
  fs.writeFileSync(before.file, torn);
  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.same(plain(r.loaded().entries), plain(entries(1, 3, 1)), 'nothing after the torn record, though the third save is intact on disk');
  // The node goes on: another leader's entries 4..6, the same sizes, so its records end where the old ones did.
  const other = entries(4, 6, 1).map((e) => ({ ...e, data: Buffer.from(Buffer.from(e.data).toString().toUpperCase()) }));
  await r.save({ hardState: { term: 1, vote: 'n1', commit: 3 }, entries: other });
  await r.close();
  const after = lastSegmentRecords(dir);
  t.equal(after.end, before.offsets[4], 'the new save ends where the torn one did');
  // Put the third save's old bytes back behind it: well-formed records, chained from the old save.
  thirdSave.copy(after.bytes, after.end);
  fs.writeFileSync(after.file, after.bytes);
  const r2 = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.same(plain(r2.loaded().entries), plain([...entries(1, 3, 1), ...other]), 'entries 7..9 of the stale chain are not loaded');
  t.same(r2.loaded().hardState, { term: 1, vote: 'n1', commit: 3 });
  await r2.close();
});

t.test('WAL segments covered by a snapshot are deleted; the log still loads from the segments left', async (t) => {
  const dir = tempDir(t);
  const options = { walSegmentBytes: 1024 };
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' }, options);
  for (let i = 1; i <= 100; i++) await s.save({ hardState: { term: 1, vote: 'n1', commit: Math.max(0, i - 3) }, entries: entries(i, i, 1) });
  const many = walFiles(dir).length;
  t.ok(many >= 5, `${many} segments`);
  // A snapshot at 97: every segment but the last (or two) holds only entries <= 97.
  await s.save({ snapshot: { meta: { index: 97, term: 1, conf }, data: Buffer.from('S97') } });
  await s.close();
  const left = walFiles(dir);
  t.ok(left.length <= 3, `segments left: ${left.join(', ')}`);
  t.not(left[0], segmentFileName(0), 'the oldest ones are gone');
  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' }, options);
  t.same(plain(r.loaded().entries), plain(entries(98, 100, 1)));
  t.same(r.loaded().hardState, { term: 1, vote: 'n1', commit: 97 }, 'the hard state survives: every segment begins with it');
  t.equal(r.loaded().snapshot?.meta.index, 97);

  // Keep going: an overwrite of the tail by a new term, more segments, another snapshot.
  await r.save({ hardState: { term: 2, vote: 'n2', commit: 97 }, entries: entries(99, 99, 2) });
  for (let i = 100; i <= 180; i++) await r.save({ hardState: { term: 2, vote: 'n2', commit: i - 3 }, entries: entries(i, i, 2) });
  await r.save({ snapshot: { meta: { index: 170, term: 2, conf }, data: Buffer.from('S170') } });
  await r.compact(170);
  await r.close();
  const r2 = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' }, options);
  t.same(plain(r2.loaded().entries), plain(entries(171, 180, 2)));
  t.same(r2.loaded().hardState, { term: 2, vote: 'n2', commit: 177 });
  t.ok(walFiles(dir).length <= 3);
  await r2.close();
});

t.test('replay after deletion: a snapshot keeping the entries after it, whose own entry lived in a deleted segment', async (t) => {
  // Segment A ends with entry 10; B holds 11..12 and then the marker of a snapshot at 10. Once A is
  // deleted, replay cannot see entry 10; the marker's recorded decision keeps 11..12.
  const dir = tempDir(t);
  const options = { walSegmentBytes: 1024 };
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' }, options);
  const fat = (from: number, to: number): Entry[] => entries(from, to, 1).map((e) => ({ ...e, data: Buffer.alloc(80, e.index) }));
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: fat(1, 10) });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 12 }, entries: fat(11, 12) });
  t.same(walFiles(dir).slice(0, 2), [segmentFileName(0), segmentFileName(1)], 'entries 11..12 went to a new segment');
  await s.save({ snapshot: { meta: { index: 10, term: 1, conf }, data: Buffer.from('S') } });
  await s.close();
  t.notOk(walFiles(dir).includes(segmentFileName(0)), 'the segment holding 1..10 is deleted');
  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' }, options);
  t.same(plain(r.loaded().entries), plain(fat(11, 12)));
  t.same(r.loaded().hardState, { term: 1, vote: 'n1', commit: 12 });
  await r.close();
});

t.test('a crash between a snapshot\'s LevelDB write and its WAL marker: open completes the save', async (t) => {
  /** Writes a snapshot the way save() does, without the marker that save() writes next. */
  const storeOnly = (dir: string, index: number, term: number, data: string) =>
    rawWrite(dir, async (db) => {
      await writeSnapshotFile(path.join(dir, 'snapshots'), { index, term, conf }, Buffer.from(data));
      await db.put(snapshotMetaKey, encode({ index, term, conf, dataBytes: data.length }));
    });

  await t.test('the log holds the snapshot\'s entry: the entries after it are kept', async (t) => {
    const dir = tempDir(t);
    const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
    await s.save({ hardState: { term: 1, vote: 'n1', commit: 8 }, entries: entries(1, 10, 1) });
    await s.close();
    await storeOnly(dir, 6, 1, 'S6');
    const warnings: string[] = [];
    const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' }, { logger: { warn: (message) => warnings.push(message) } });
    t.same(plain(r.loaded().entries), plain(entries(7, 10, 1)));
    t.equal(r.loaded().snapshot?.meta.index, 6);
    t.match(warnings, [/completed a snapshot save/]);
    await r.close();
    t.match(await walRecords(dir), [{}, {}, { type: WalRecordType.SnapshotMarker, index: 6, term: 1, keepAfter: true }], 'the marker was appended');
  });

  await t.test('the log disagrees with the snapshot: it is discarded, and stays so after later appends', async (t) => {
    const dir = tempDir(t);
    const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
    await s.save({ hardState: { term: 3, vote: '', commit: 2 }, entries: entries(1, 10, 1) });
    await s.close();
    // The leader's entry 8 has term 3, ours term 1.
    await storeOnly(dir, 8, 3, 'S8');
    const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
    t.same(r.loaded().entries, []);
    t.equal(r.lastIndex, 8);
    await r.save({ hardState: { term: 3, vote: '', commit: 9 }, entries: entries(9, 9, 3) });
    await r.close();
    // Had the marker not been appended at the first open, replaying it last would now discard 9@3.
    const r2 = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
    t.same(plain(r2.loaded().entries), plain(entries(9, 9, 3)));
    t.same(r2.loaded().hardState, { term: 3, vote: '', commit: 9 });
    await r2.close();
  });
});

t.test("a leader's snapshot of a newer term: the new term is made durable before the snapshot", async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 2 }, entries: entries(1, 5, 1) });
  await s.save({ hardState: { term: 4, vote: '', commit: 8 }, snapshot: { meta: { index: 8, term: 3, conf }, data: Buffer.from('S') } });
  await s.close();
  // So a crash between the snapshot's two writes leaves a hard state of term 4, not 1 (< 3).
  t.same((await walRecords(dir)).slice(2), [
    { type: WalRecordType.HardState, hardState: { term: 4, vote: '', commit: 2 } },
    { type: WalRecordType.SnapshotMarker, index: 8, term: 3, keepAfter: false },
    { type: WalRecordType.HardState, hardState: { term: 4, vote: '', commit: 8 } },
  ]);
  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.same(r.loaded().hardState, { term: 4, vote: '', commit: 8 });
  t.same(r.loaded().entries, []);
  await r.close();
});

t.test('the hand-written entries record is msgpack at every size boundary', async (t) => {
  const terms = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
  const lengths = [0, 1, 255, 256, 65535, 65536];
  for (const term of terms) {
    for (const length of lengths) {
      const data = Buffer.alloc(length, 0xab);
      const index = Math.max(1, term); // indexes use the same integer encoding
      const raw = encodeEntriesRecord([{ index, term, type: EntryType.ConfChange, data }]);
      t.equal(raw[0], WalRecordType.Entries);
      const generic = new Packr({ useRecords: false }).unpack(raw.subarray(1));
      t.same(
        { first: generic[0], term: generic[1][0][0], type: generic[1][0][1], bytes: generic[1][0][2].length },
        { first: index, term, type: EntryType.ConfChange, bytes: length },
        `term ${term}, ${length} bytes`,
      );
      const decoded = decodeWalRecord(raw);
      t.ok(decoded.ok && decoded.value.type === WalRecordType.Entries && decoded.value.entries[0].index === index && Buffer.from(decoded.value.entries[0].data).equals(data));
    }
  }
  for (const count of [1, 15, 16, 65535, 65536]) {
    const list = entries(1, count, 1);
    const decoded = decodeWalRecord(encodeEntriesRecord(list));
    t.ok(decoded.ok && decoded.value.type === WalRecordType.Entries && decoded.value.entries.length === count && decoded.value.entries[count - 1].index === count, `${count} entries`);
  }
});

t.test('a commit-only hard state saved unsynced costs no write: it goes out with the next save, or at close', async (t) => {
  const dir = tempDir(t);
  let storage = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await storage.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: entries(1, 3, 1) });
  const before = (await walRecords(dir)).length;
  await storage.save({ hardState: { term: 1, vote: 'n1', commit: 2 }, sync: false });
  await storage.save({ hardState: { term: 1, vote: 'n1', commit: 3 }, sync: false });
  t.equal((await walRecords(dir)).length, before, 'nothing written yet');
  await storage.save({ entries: entries(4, 4, 1) });
  t.match((await walRecords(dir)).slice(before), [{ type: WalRecordType.Entries }, { type: WalRecordType.HardState, hardState: { commit: 3 } }], 'the newest one went out with the next write');
  await storage.save({ hardState: { term: 1, vote: 'n1', commit: 4 }, sync: false });
  await storage.close();
  storage = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.equal(storage.loaded().hardState.commit, 4, 'and the last one at close');
  await storage.close();
});

t.test('a blocking save is one write on the event loop when small and synced, and loads back like any other', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: entries(1, 3, 1), blocking: true });
  t.equal(s.stats().blockingWrites, 1, 'small and synced: written on the event loop');
  await s.save({ entries: entries(4, 4, 1) });
  t.equal(s.stats().blockingWrites, 1, 'not asked to block: the thread pool');
  const big: Entry = { index: 5, term: 1, type: EntryType.Normal, data: Buffer.alloc(300 * 1024, 7) };
  await s.save({ entries: [big], blocking: true });
  t.equal(s.stats().blockingWrites, 1, 'larger than blockingAppendBytesMax: the thread pool, so the event loop never waits on a big write');
  await s.save({ entries: entries(6, 6, 1), sync: false });
  await s.save({ entries: entries(7, 7, 1), blocking: true });
  t.equal(s.stats().blockingWrites, 1, 'after an unsynced write it takes write + fdatasync: the thread pool');
  await Promise.all([s.save({ entries: entries(8, 8, 1), blocking: true }), s.save({ entries: entries(9, 9, 1), blocking: true }), s.save({ entries: entries(10, 10, 1) })]);
  t.equal(s.stats().blockingWrites, 1, 'coalesced (one write) with an update that does not block: the thread pool');
  await s.save({ entries: entries(11, 12, 1), blocking: true });
  t.equal(s.stats().blockingWrites, 2);
  t.equal(s.stats().fsyncCount, 6, 'every synced write was fsynced, whichever thread wrote it');
  await s.close();
  const r = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.same(plain(r.loaded().entries), plain([...entries(1, 4, 1), big, ...entries(6, 12, 1)]));
  await r.close();
});
