// Snapshot files: what is written reads back exactly; any damage is refused with a message naming
// the file; a write a crash interrupted (a .tmp file) is swept at open; older files are removed.

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listSnapshotFiles, readSnapshotFile, removeSnapshotFilesBefore, removeStrayTmpFiles, writeSnapshotFile } from '../../src/raft/storage/snapshot_file';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlock-snapfile-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'snapshots');
}

const conf = { voters: ['n1', 'n2', 'n3'], learners: [], votersOutgoing: [] };

t.test('a snapshot file round-trips its meta and data', async (t) => {
  const dir = tempDir(t);
  const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
  await writeSnapshotFile(dir, { index: 12345, term: 7, conf }, data);
  const files = listSnapshotFiles(dir);
  t.strictSame(files.map((f) => [f.index, f.term]), [[12345, 7]]);
  const read = readSnapshotFile(dir, files[0]);
  t.strictSame(read.meta, { index: 12345, term: 7, conf });
  t.ok(read.data.equals(data), 'same bytes');
  const empty = await writeSnapshotFile(dir, { index: 12346, term: 7, conf }, Buffer.alloc(0));
  t.equal(readSnapshotFile(dir, listSnapshotFiles(dir)[1]).data.length, 0, 'an empty snapshot too');
  t.ok(empty.endsWith('000000000000303a-0000000000000007.snap'));
});

t.test('a damaged snapshot file is refused, naming the file', async (t) => {
  const dir = tempDir(t);
  const data = Buffer.alloc(10_000, 1);
  const file = await writeSnapshotFile(dir, { index: 9, term: 2, conf }, data);
  const good = fs.readFileSync(file);
  const damages: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
    ['a flipped data byte', (b) => (b[b.length - 100] ^= 0xff, b), /checksum mismatch/],
    ['a truncated file', (b) => b.subarray(0, b.length - 1), /bytes of data/],
    ['a truncated header', (b) => b.subarray(0, 14), /truncated header|undecodable/],
    ['another kind of file', (b) => (b[0] = 0x7b, b), /not a quorumlock snapshot file/],
  ];
  for (const [name, damage, message] of damages) {
    fs.writeFileSync(file, damage(Buffer.from(good)));
    const [entry] = listSnapshotFiles(dir);
    t.throws(() => readSnapshotFile(dir, entry), { code: 'STORAGE_CORRUPT', message }, name);
    t.throws(() => readSnapshotFile(dir, entry), { message: new RegExp(path.basename(file)) }, `${name}: the message names the file`);
  }
  fs.writeFileSync(file, good);
  fs.renameSync(file, path.join(dir, '0000000000000009-0000000000000003.snap'));
  t.throws(() => readSnapshotFile(dir, listSnapshotFiles(dir)[0]), { message: /does not match its name/ }, 'a renamed file');
});

t.test('a .tmp file is swept at open; older snapshots are removed once superseded', async (t) => {
  const dir = tempDir(t);
  for (const index of [10, 20, 30]) await writeSnapshotFile(dir, { index, term: 1, conf }, Buffer.from([index]));
  fs.writeFileSync(path.join(dir, '0000000000000028-0000000000000001.snap.tmp'), 'half written');
  removeStrayTmpFiles(dir);
  t.strictSame(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no .tmp left');
  await removeSnapshotFilesBefore(dir, 30);
  t.strictSame(listSnapshotFiles(dir).map((f) => f.index), [30]);
  t.strictSame(listSnapshotFiles(path.join(dir, 'absent')), [], 'a missing directory holds no snapshot');
});
