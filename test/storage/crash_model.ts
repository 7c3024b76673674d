// A deterministic sequence of saves shared by the crash test and its child process: step s is a
// pure function of the model state after steps 1..s-1, so the parent can rebuild the exact state
// the disk must hold after any number of completed saves and compare it with what reopen loads.

import { EntryType, type ConfState, type Entry, type HardState, type Snapshot } from '../../src/raft/types';
import type { StorageUpdate } from '../../src/raft/storage/raft_storage';

export interface ModelState {
  term: number;
  commit: number;
  snapshot: Snapshot | null;
  /** Entries after the snapshot, in order. */
  entries: Entry[];
}

/** WAL segment size in the crash rounds: about 25 saves each. */
export const crashSegmentBytes = 2048;

const conf: ConfState = { voters: ['n1'], learners: [], votersOutgoing: [] };

export function initialModel(): ModelState {
  return { term: 1, commit: 0, snapshot: null, entries: [] };
}

function lastIndex(m: ModelState): number {
  if (m.entries.length > 0) return m.entries[m.entries.length - 1].index;
  return m.snapshot ? m.snapshot.meta.index : 0;
}

function entry(index: number, term: number, step: number): Entry {
  return { index, term, type: EntryType.Normal, data: Buffer.from(`${index}:${term}:${step}`) };
}

/** Advances the model by step `s` (1-based) and returns the save that performs it. */
export function step(m: ModelState, s: number): StorageUpdate {
  const snapshotIndex = m.snapshot ? m.snapshot.meta.index : 0;
  const last = lastIndex(m);
  if (s % 50 === 0 && m.commit > snapshotIndex) {
    // A local snapshot at the commit index (a file of some size); later entries stay.
    const at = m.entries.find((e) => e.index === m.commit)!;
    const data = Buffer.alloc(1024 * 1024 + 1000 + s, s & 0xff);
    const snapshot: Snapshot = { meta: { index: at.index, term: at.term, conf }, data };
    m.snapshot = snapshot;
    m.entries = m.entries.filter((e) => e.index > at.index);
    return { snapshot };
  }
  if (s % 7 === 0 && last - 2 > m.commit && last - 2 > snapshotIndex) {
    // A new term's leader overwrites the last three entries with two: the tail shrinks by one.
    m.term++;
    const from = last - 2;
    const fresh = [entry(from, m.term, s), entry(from + 1, m.term, s)];
    m.entries = m.entries.filter((e) => e.index < from).concat(fresh);
    const hardState: HardState = { term: m.term, vote: 'n1', commit: m.commit };
    return { hardState, entries: fresh };
  }
  const count = (s % 4) + 1;
  const fresh: Entry[] = [];
  for (let i = 1; i <= count; i++) fresh.push(entry(last + i, m.term, s));
  m.entries = m.entries.concat(fresh);
  m.commit = Math.max(m.commit, last + count - 5);
  const hardState: HardState = { term: m.term, vote: 'n1', commit: m.commit };
  return { hardState, entries: fresh };
}
