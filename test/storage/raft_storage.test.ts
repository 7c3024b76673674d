// Proves that RaftStorage gives back exactly what was saved (hard state, entries, snapshot) after
// close and reopen, that overwriting a suffix removes the stale tail, that a snapshot removes the
// entries it covers (or the whole log when the log disagrees with it), and that a directory of
// another node or cluster, of another format version, or with damaged records is refused with a
// StorageError whose code is stable and whose message names the directory. Damage is made with a
// raw classic-level handle on the same directory, writing under the storage's own keys.

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { RaftStorage } from '../../src/raft/storage/raft_storage';
import { StorageError } from '../../src/raft/storage/errors';
import { Packr } from 'msgpackr';
import { chunkKey, decodeEntry, encode, encodeEntry, entryKey, hardStateKey, indexOfEntryKey, metaKey, snapshotChunkBytes } from '../../src/raft/storage/layout';
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

async function openError(dir: string, identity: { nodeId: string; clusterId?: string }): Promise<StorageError> {
  try {
    const s = await RaftStorage.open(dir, identity);
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
  t.equal(loaded.meta.formatVersion, 1);
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
  t.same(await rawKeys(dir, 'e'), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => entryKey(i).toString('hex')), 'entries 9 and 10 are gone from disk');
});

t.test('a local snapshot removes the entries it covers and keeps the rest; its data is chunked', async (t) => {
  const dir = tempDir(t);
  const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
  await s.save({ hardState: { term: 1, vote: 'n1', commit: 8 }, entries: entries(1, 10, 1) });
  const big = Buffer.alloc(snapshotChunkBytes * 2 + 12345);
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
  // A later, smaller snapshot replaces the chunks: no stale chunk may survive.
  await r.save({ snapshot: { meta: { index: 9, term: 1, conf }, data: Buffer.from('small') } });
  await r.close();
  t.same(await rawKeys(dir, 'c'), [chunkKey(0).toString('hex')]);
  t.same(await rawKeys(dir, 'e'), [entryKey(10).toString('hex')]);
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
  t.same(await rawKeys(dir, 'e'), []);
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
  await rawWrite(dir, (db) => db.put(metaKey, encode({ formatVersion: 2, nodeId: 'n1', clusterId: 'c1', createdAtMs: 1, extra: true })));
  const error = await openError(dir, { nodeId: 'n1', clusterId: 'c1' });
  t.equal(error.code, 'STORAGE_VERSION');
  t.match(error.message, /format version 2/);
});

t.test('damaged records are refused with STORAGE_CORRUPT naming the directory', async (t) => {
  const cases: Array<{ name: string; damage: (db: ClassicLevel<Uint8Array, Uint8Array>) => Promise<void>; message: RegExp }> = [
    { name: 'garbage under an entry key', damage: (db) => db.put(entryKey(3), Buffer.from([0xc1, 0xff, 0x00])), message: /entry 3/ },
    { name: 'a well-formed value of the wrong shape', damage: (db) => db.put(entryKey(3), encode({ term: 'x' })), message: /entry 3/ },
    { name: 'a missing entry (gap)', damage: (db) => db.del(entryKey(3)), message: /gap in the log: entry 2 is followed by entry 4/ },
    { name: 'a term going back', damage: (db) => db.put(entryKey(4), encode({ term: 0, type: 0, data: Buffer.from('x') })), message: /entry 4 has term 0/ },
    { name: 'the first entries missing', damage: (db) => db.del(entryKey(1)), message: /starts at index 2 with no snapshot/ },
    {
      name: 'commit beyond the last index',
      damage: (db) => db.put(hardStateKey, encode({ term: 1, vote: '', commit: 6 })),
      message: /commit index 6 is beyond the last log index 5/,
    },
    { name: 'an undecodable hard state', damage: (db) => db.put(hardStateKey, Buffer.from('garbage')), message: /hard state/ },
    { name: 'a missing meta record', damage: (db) => db.del(metaKey), message: /no meta record/ },
  ];
  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const dir = tempDir(t);
      const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
      await s.save({ hardState: { term: 1, vote: '', commit: 2 }, entries: entries(1, 5, 1) });
      await s.close();
      await rawWrite(dir, c.damage);
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
    await rawWrite(dir, (db) => db.del(entryKey(6)));
    const error = await openError(dir, { nodeId: 'n1', clusterId: 'c1' });
    t.equal(error.code, 'STORAGE_CORRUPT');
    t.match(error.message, /starts at index 7, but the snapshot ends at 5/);
  });

  await t.test('a missing snapshot chunk', async (t) => {
    const dir = tempDir(t);
    const s = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'c1' });
    await s.save({ hardState: { term: 1, vote: '', commit: 2 }, entries: entries(1, 3, 1) });
    await s.save({ snapshot: { meta: { index: 2, term: 1, conf }, data: Buffer.alloc(snapshotChunkBytes + 1) } });
    await s.close();
    await rawWrite(dir, (db) => db.del(chunkKey(1)));
    const error = await openError(dir, { nodeId: 'n1', clusterId: 'c1' });
    t.equal(error.code, 'STORAGE_CORRUPT');
    t.match(error.message, /snapshot chunk 1 of 2 is missing/);
  });
});

t.test('the hand-written entry encoding is msgpack at every size boundary', async (t) => {
  const terms = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
  const lengths = [0, 1, 255, 256, 65535, 65536];
  for (const term of terms) {
    for (const length of lengths) {
      const data = Buffer.alloc(length, 0xab);
      const raw = encodeEntry({ index: 1, term, type: EntryType.ConfChange, data });
      const generic = new Packr({ useRecords: false }).unpack(raw);
      t.same({ term: generic.term, type: generic.type, bytes: generic.data.length }, { term, type: EntryType.ConfChange, bytes: length }, `term ${term}, ${length} bytes`);
      const decoded = decodeEntry(7, raw);
      t.ok(decoded.ok && decoded.value.index === 7 && Buffer.from(decoded.value.data).equals(data));
    }
  }
  for (const index of [0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) t.equal(indexOfEntryKey(entryKey(index)), index);
  t.ok(Buffer.compare(entryKey(2 ** 32 - 1), entryKey(2 ** 32)) < 0, 'keys sort in index order');
});
