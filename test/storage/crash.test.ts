// Proves that a node killed with SIGKILL in the middle of saving loses nothing it acknowledged:
// a child process saves a deterministic sequence of batches (appends, suffix overwrites with a
// term change, snapshots) and reports each save whose promise resolved; we kill it at an
// arbitrary moment, reopen the directory and require the loaded state to equal the model's state
// after exactly k saves for some k >= the last reported one: a consistent prefix of the history
// that contains every acknowledged save. The child's WAL segments are small, so segments roll
// over and the ones a snapshot covers are deleted again and again before the kill.

import t from 'tap';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RaftStorage, type LoadedState } from '../../src/raft/storage/raft_storage';
import { crashSegmentBytes, initialModel, step, type ModelState } from './crash_model';
import { segmentFileName } from '../../src/raft/storage/wal_segment';

function sameState(loaded: LoadedState, m: ModelState): boolean {
  const h = loaded.hardState;
  if (h.term !== m.term || h.commit !== m.commit || (m.term > 0 && h.vote !== 'n1')) return false;
  if ((loaded.snapshot === null) !== (m.snapshot === null)) return false;
  if (loaded.snapshot && m.snapshot) {
    if (loaded.snapshot.meta.index !== m.snapshot.meta.index || loaded.snapshot.meta.term !== m.snapshot.meta.term) return false;
    if (!Buffer.from(loaded.snapshot.data).equals(Buffer.from(m.snapshot.data))) return false;
  }
  if (loaded.entries.length !== m.entries.length) return false;
  return loaded.entries.every((e, i) => {
    const want = m.entries[i];
    return e.index === want.index && e.term === want.term && Buffer.from(e.data).equals(Buffer.from(want.data));
  });
}

async function crashRound(t: { teardown(fn: () => void): void }, killAfter: number): Promise<{ acked: number; matched: number; segments: string[] }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlock-crash-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'raft');
  const child = fork(path.join(__dirname, 'crash_child.js'), [dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let acked = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`child acknowledged only ${acked} saves in 30 s`)), 30_000);
    child.on('message', (msg: { done: number }) => {
      acked = Math.max(acked, msg.done);
      if (acked >= killAfter) {
        clearTimeout(deadline);
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(deadline);
      if (acked < killAfter) reject(new Error(`child exited early with code ${code}`));
    });
  });
  await exited;

  const segments = fs.readdirSync(path.join(dir, 'wal')).sort();
  const storage = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'crash' }, { walSegmentBytes: crashSegmentBytes });
  const loaded = storage.loaded();
  await storage.close();
  const model = initialModel();
  for (let s = 1; s <= acked; s++) step(model, s);
  // Saves after the last one we heard of may also have reached the disk before the kill.
  for (let k = acked; k <= acked + 1000; k++) {
    if (k > acked) step(model, k);
    if (sameState(loaded, model)) return { acked, matched: k, segments };
  }
  return { acked, matched: -1, segments };
}

t.test('SIGKILL during saves: reopen gives a consistent prefix holding every acknowledged save', async (t) => {
  for (const killAfter of [60, 113, 262]) {
    const { acked, matched, segments } = await crashRound(t, killAfter);
    t.ok(matched >= acked, `state after kill equals the model after ${matched} saves (${acked} acknowledged)`);
    // Snapshots every 50 steps: by then the oldest segments were deleted.
    t.not(segments[0], segmentFileName(0), `segments rolled over and old ones were deleted (${segments.join(' ')})`);
  }
});
