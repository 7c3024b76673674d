// Durable Raft state on classic-level (LevelDB): hard state, log entries and the latest snapshot.
//
// The driver calls save() once per Ready with everything in it; save() turns that into ONE LevelDB
// batch written with { sync: true }. That single fsync is the group commit that makes the batch's
// entries, hard state and snapshot durable together (a LevelDB batch is one WAL record: after a
// crash it is either wholly there or wholly absent). Messages that depend on the batch may leave
// the node only after save() resolves. A batch that only moves the commit index is written
// without fsync (etcd's MustSync rule): losing it in a crash loses nothing Raft cannot relearn.
//
// Opening the storage reads everything back and checks it. Anything inconsistent is refused with a
// StorageError naming the directory: starting on a damaged log could forget writes a quorum has
// acknowledged, so we never truncate or repair silently.

import assert from 'node:assert';
import { randomUUID } from 'node:crypto';
import { ClassicLevel } from 'classic-level';
import type { Entry, HardState, Snapshot, SnapshotMeta } from '../types';
import { StorageError, corruptError } from './errors';
import {
  chunkKey,
  decodeEntry,
  decodeHardState,
  decodeMeta,
  decodeSnapshotMeta,
  encode,
  encodeEntry,
  entryKey,
  entryKeyEnd,
  entryKeyMin,
  formatVersion,
  hardStateKey,
  indexOfEntryKey,
  metaKey,
  peekFormatVersion,
  snapshotChunkBytes,
  snapshotMetaKey,
  type MetaRecord,
  type SnapshotMetaRecord,
} from './layout';

export interface StorageIdentity {
  readonly nodeId: string;
  /** Undefined on first open stores a random cluster id; undefined later accepts the stored one. */
  readonly clusterId?: string;
}

/** What open() read back from disk. */
export interface LoadedState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  /** Every entry after the snapshot, in index order. */
  readonly entries: Entry[];
  readonly meta: MetaRecord;
}

/** One Ready's worth of durable state; everything present is written in one synced batch. */
export interface StorageUpdate {
  readonly hardState?: HardState | null;
  /** Contiguous entries; entries[0].index <= lastIndex + 1. A lower first index replaces the tail. */
  readonly entries?: readonly Entry[];
  /**
   * A snapshot: Ready.snapshot from the leader, or the one RaftNode.compact() returns after a local
   * snapshot. Entries up to its index are deleted. Entries after it are kept only if the log holds
   * the snapshot's last entry (same index and term): always true of a local snapshot, whose later
   * entries must survive. Otherwise the log disagrees with the snapshot and is discarded whole, as
   * the core discards it. (Keeping them when they match is safe even if the core dropped them from
   * memory: they passed the leader's consistency check after that very entry, and a newer leader's
   * appends overwrite them through the stale-tail rule.) A snapshot at or below the saved
   * snapshot's index is ignored: the saved one already covers it.
   */
  readonly snapshot?: Snapshot | null;
  /**
   * Default true: the batch is fsynced. False (a commit-only hard state change) writes without
   * fsync; LevelDB's single sequential log makes it durable with the next synced write, and a
   * crash before that only loses a commit index that Raft relearns from the leader.
   */
  readonly sync?: boolean;
}

export interface StorageStats {
  readonly fsyncCount: number;
  readonly fsyncLastMicros: number;
  readonly fsyncAvgMicros: number;
  readonly fsyncMaxMicros: number;
  /** First index held by the log (snapshotIndex + 1 when it holds no entry). */
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly snapshotBytes: number;
}

const emptyHardState: HardState = { term: 0, vote: '', commit: 0 };

export class RaftStorage {
  readonly dir: string;
  private readonly db: ClassicLevel<Uint8Array, Uint8Array>;
  private readonly initial: LoadedState;

  // The index range of entry records on disk; empty when diskFirst > diskLast. Tracked in memory
  // so that deleting a stale tail or a compacted prefix needs no read.
  private diskFirst: number;
  private diskLast: number;
  private snapshotMeta: SnapshotMetaRecord | null;
  /** The saved term: no entry may carry a later one (open() refuses such a log). */
  private term: number;

  // Writes run one at a time, in call order, so the in-memory range always matches the disk.
  private queue: Promise<void> = Promise.resolve();
  private failed: unknown = null;
  private closed = false;

  /** The group of updates waiting for the write in progress to finish; they share the next batch. */
  private coalescing: { updates: StorageUpdate[]; done: Promise<void> } | null = null;
  private fsyncCount = 0;
  private fsyncLastMicros = 0;
  private fsyncTotalMicros = 0;
  private fsyncMaxMicros = 0;

  private constructor(dir: string, db: ClassicLevel<Uint8Array, Uint8Array>, loaded: LoadedState, diskFirst: number, diskLast: number, snapshotMeta: SnapshotMetaRecord | null) {
    this.dir = dir;
    this.db = db;
    this.initial = loaded;
    this.diskFirst = diskFirst;
    this.diskLast = diskLast;
    this.snapshotMeta = snapshotMeta;
    this.term = loaded.hardState.term;
  }

  /** Opens (creating if absent) the storage at `dir` and reads and checks everything in it. */
  static async open(dir: string, identity: StorageIdentity): Promise<RaftStorage> {
    assert(identity.nodeId !== '', 'nodeId must not be empty');
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open({ createIfMissing: true });
    } catch (error) {
      throw openError(dir, error);
    }
    try {
      const read = await readState(dir, db, identity);
      return new RaftStorage(dir, db, read.loaded, read.diskFirst, read.diskLast, read.snapshotMeta);
    } catch (error) {
      await db.close().catch(() => {});
      throw error;
    }
  }

  /** The state read at open: hard state, snapshot and the entries after it. */
  loaded(): LoadedState {
    return this.initial;
  }

  get lastIndex(): number {
    return Math.max(this.diskLast, this.snapshotIndex);
  }

  get firstIndex(): number {
    return this.diskFirst <= this.diskLast ? this.diskFirst : this.snapshotIndex + 1;
  }

  get snapshotIndex(): number {
    return this.snapshotMeta ? this.snapshotMeta.index : 0;
  }

  /**
   * Writes the update as one batch with { sync: true } (unless update.sync is false); resolves
   * once it is durable. Updates saved while an earlier write is on disk are coalesced: they go
   * out together in the next batch, with one fsync (group commit at the storage layer, so a
   * leader that hands over a Ready per event-loop turn still pays one fsync per disk round).
   */
  save(update: StorageUpdate): Promise<void> {
    if (update.snapshot) return this.enqueue(() => this.write([update]));
    const open = this.coalescing;
    if (open !== null) {
      open.updates.push(update);
      return open.done;
    }
    const group: { updates: StorageUpdate[]; done: Promise<void> } = { updates: [update], done: Promise.resolve() };
    group.done = this.enqueue(() => {
      // Once the write starts, later updates form the next group.
      if (this.coalescing === group) this.coalescing = null;
      return this.write(group.updates);
    });
    this.coalescing = group;
    return group.done;
  }

  /**
   * Deletes entries with index <= `index`, which must be covered by the saved snapshot. save()
   * with a snapshot already does this; compact() is for prefixes kept behind a snapshot.
   */
  compact(index: number): Promise<void> {
    return this.enqueue(async () => {
      assert(index <= this.snapshotIndex, `compact(${index}) beyond the saved snapshot (${this.snapshotIndex})`);
      const end = Math.min(index, this.diskLast);
      if (this.diskFirst > end) return;
      const batch = this.db.batch();
      for (let i = this.diskFirst; i <= end; i++) batch.del(entryKey(i));
      await this.commit(batch);
      this.diskFirst = end + 1;
    });
  }

  stats(): StorageStats {
    return {
      fsyncCount: this.fsyncCount,
      fsyncLastMicros: this.fsyncLastMicros,
      fsyncAvgMicros: this.fsyncCount === 0 ? 0 : Math.round(this.fsyncTotalMicros / this.fsyncCount),
      fsyncMaxMicros: this.fsyncMaxMicros,
      firstIndex: this.firstIndex,
      lastIndex: this.lastIndex,
      snapshotIndex: this.snapshotIndex,
      snapshotTerm: this.snapshotMeta ? this.snapshotMeta.term : 0,
      snapshotBytes: this.snapshotMeta ? this.snapshotMeta.dataBytes : 0,
    };
  }

  /** LevelDB's estimate of the bytes on disk (compressed, may lag recent writes). */
  async approximateSizeBytes(): Promise<number> {
    return this.db.approximateSize(new Uint8Array([0]), new Uint8Array([0xff]));
  }

  /** Waits for queued writes, then closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => {});
    await this.db.close();
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new StorageError('STORAGE_FAILED', this.dir, `raft storage at ${this.dir} is closed`));
    const run = async (): Promise<void> => {
      if (this.failed) {
        throw new StorageError('STORAGE_FAILED', this.dir, `raft storage at ${this.dir} refuses writes after an earlier write failed; restart the node`, {
          cause: this.failed,
        });
      }
      try {
        await job();
      } catch (error) {
        // After a failed write what is on disk is unknown; anything further could contradict it.
        if (!(error instanceof assert.AssertionError)) this.failed = error;
        throw error;
      }
    };
    const result = this.queue.then(run);
    this.queue = result.catch(() => {});
    return result;
  }

  /** Writes the updates, in order, as one LevelDB batch: one fsync for all (none if none asks for it). */
  private async write(updates: readonly StorageUpdate[]): Promise<void> {
    assert(updates.length === 1 || updates.every((u) => !u.snapshot), 'a snapshot is written alone');
    const batch = this.db.batch();
    let diskFirst = this.diskFirst;
    let diskLast = this.diskLast;
    let snapshotMeta = this.snapshotMeta;
    let term = this.term;
    let sync = false;
    let written = false;
    for (const update of updates) {
      const { hardState, snapshot } = update;
      const entries = update.entries ?? [];
      if (!hardState && !snapshot && entries.length === 0) continue;
      written = true;
      if (update.sync !== false) sync = true;

      // A snapshot at or below the saved one adds nothing (the saved one covers it): skip it.
      if (snapshot && snapshot.meta.index > this.snapshotIndex) {
        const meta = snapshot.meta;
        let keepAfter = false;
        if (meta.index >= diskFirst && meta.index <= diskLast) {
          const raw = await this.db.get(entryKey(meta.index));
          const decoded = raw === undefined ? null : decodeEntry(meta.index, raw);
          keepAfter = decoded !== null && decoded.ok && decoded.value.term === meta.term;
        }
        const deleteTo = keepAfter ? meta.index : diskLast;
        for (let i = diskFirst; i <= deleteTo; i++) batch.del(entryKey(i));
        if (keepAfter) {
          diskFirst = meta.index + 1;
        } else {
          diskFirst = meta.index + 1;
          diskLast = meta.index;
        }
        const data = snapshot.data;
        const chunkCount = Math.ceil(data.length / snapshotChunkBytes);
        for (let c = 0; c < chunkCount; c++) {
          batch.put(chunkKey(c), data.subarray(c * snapshotChunkBytes, Math.min(data.length, (c + 1) * snapshotChunkBytes)));
        }
        const oldChunkCount = this.snapshotMeta ? this.snapshotMeta.chunkCount : 0;
        for (let c = chunkCount; c < oldChunkCount; c++) batch.del(chunkKey(c));
        snapshotMeta = { index: meta.index, term: meta.term, conf: meta.conf, dataBytes: data.length, chunkCount };
        batch.put(snapshotMetaKey, encode(snapshotMeta));
      }

      if (entries.length > 0) {
        const first = entries[0].index;
        const snapshotIndex = snapshotMeta ? snapshotMeta.index : 0;
        const lastIndex = Math.max(diskLast, snapshotIndex);
        assert(first > snapshotIndex, `entries start at ${first}, inside the snapshot (index ${snapshotIndex})`);
        assert(first <= lastIndex + 1, `entries start at ${first}, leaving a gap after the last index ${lastIndex}`);
        for (let i = 0; i < entries.length; i++) {
          const entry = entries[i];
          assert(entry.index === first + i, `entries are not contiguous at ${first + i}`);
          batch.put(entryKey(entry.index), encodeEntry(entry));
        }
        const newLast = first + entries.length - 1;
        // The stale tail: entries past the new last index belong to a log the leader overwrote.
        for (let i = Math.max(newLast + 1, diskFirst); i <= diskLast; i++) batch.del(entryKey(i));
        if (diskFirst > diskLast) diskFirst = first;
        diskLast = newLast;
      }

      if (hardState) term = hardState.term;
      if (entries.length > 0) {
        const lastTerm = entries[entries.length - 1].term;
        assert(lastTerm <= term, `entry ${entries[entries.length - 1].index} has term ${lastTerm}, beyond the hard state's term ${term}`);
      }
      if (hardState) {
        const lastIndex = Math.max(diskLast, snapshotMeta ? snapshotMeta.index : 0);
        assert(hardState.commit <= lastIndex, `hard state commit ${hardState.commit} beyond last index ${lastIndex}`);
        batch.put(hardStateKey, encode({ term: hardState.term, vote: hardState.vote, commit: hardState.commit }));
      }
    }
    if (!written) return;

    await this.commit(batch, sync);
    this.diskFirst = diskFirst;
    this.diskLast = diskLast;
    this.snapshotMeta = snapshotMeta;
    this.term = term;
  }

  private async commit(batch: ReturnType<ClassicLevel<Uint8Array, Uint8Array>['batch']>, sync = true): Promise<void> {
    if (!sync) {
      await batch.write({ sync: false });
      return;
    }
    const started = process.hrtime.bigint();
    await batch.write({ sync: true });
    const micros = Number((process.hrtime.bigint() - started) / 1000n);
    this.fsyncCount++;
    this.fsyncLastMicros = micros;
    this.fsyncTotalMicros += micros;
    if (micros > this.fsyncMaxMicros) this.fsyncMaxMicros = micros;
  }
}

function openError(dir: string, error: unknown): StorageError {
  const cause = (error as { cause?: { code?: string } }).cause;
  if (cause?.code === 'LEVEL_LOCKED') {
    return new StorageError(
      'STORAGE_LOCKED',
      dir,
      `raft storage at ${dir} is in use by another process (LevelDB lock held): stop the other quorumlock process using this --data-dir`,
      { cause: error },
    );
  }
  if (cause?.code === 'LEVEL_CORRUPTION') return corruptError(dir, `LevelDB reports corruption (${(cause as Error).message})`, error);
  return new StorageError(
    'STORAGE_OPEN_FAILED',
    dir,
    `raft storage at ${dir} could not be opened (${(cause as Error | undefined)?.message ?? (error as Error).message}): check the path and its permissions`,
    { cause: error },
  );
}

interface ReadState {
  readonly loaded: LoadedState;
  readonly diskFirst: number;
  readonly diskLast: number;
  readonly snapshotMeta: SnapshotMetaRecord | null;
}

async function readState(dir: string, db: ClassicLevel<Uint8Array, Uint8Array>, identity: StorageIdentity): Promise<ReadState> {
  let meta: MetaRecord;
  const rawMeta = await db.get(metaKey);
  if (rawMeta === undefined) {
    for await (const _key of db.keys({ limit: 1 })) {
      throw corruptError(dir, 'it holds Raft records but no meta record (key "m")');
    }
    meta = { formatVersion, nodeId: identity.nodeId, clusterId: identity.clusterId ?? randomUUID(), createdAtMs: Date.now() };
    await db.put(metaKey, encode(meta), { sync: true });
  } else {
    // A meta record from another version may have another shape: check the version first.
    const version = peekFormatVersion(rawMeta);
    if (version !== null && version !== formatVersion) {
      throw new StorageError(
        'STORAGE_VERSION',
        dir,
        `raft storage at ${dir} has format version ${version}, but this build reads version ${formatVersion}: run the quorumlock version that wrote it`,
      );
    }
    const decoded = decodeMeta(rawMeta);
    if (!decoded.ok) throw corruptError(dir, `meta record (key "m"): ${decoded.why}`);
    meta = decoded.value;
  }
  if (meta.nodeId !== identity.nodeId) {
    throw new StorageError(
      'STORAGE_IDENTITY_MISMATCH',
      dir,
      `raft storage at ${dir} belongs to node "${meta.nodeId}", not "${identity.nodeId}": point --data-dir at this node's own directory ` +
        `(or start with the node id "${meta.nodeId}")`,
    );
  }
  if (identity.clusterId !== undefined && meta.clusterId !== identity.clusterId) {
    throw new StorageError(
      'STORAGE_IDENTITY_MISMATCH',
      dir,
      `raft storage at ${dir} belongs to cluster "${meta.clusterId}", but this node is configured for cluster "${identity.clusterId}": ` +
        `check --data-dir and the cluster's member list`,
    );
  }

  let hardState = emptyHardState;
  const rawHardState = await db.get(hardStateKey);
  if (rawHardState !== undefined) {
    const decoded = decodeHardState(rawHardState);
    if (!decoded.ok) throw corruptError(dir, `hard state (key "h"): ${decoded.why}`);
    hardState = decoded.value;
  }

  let snapshotMeta: SnapshotMetaRecord | null = null;
  let snapshot: Snapshot | null = null;
  const rawSnapshotMeta = await db.get(snapshotMetaKey);
  if (rawSnapshotMeta !== undefined) {
    const decoded = decodeSnapshotMeta(rawSnapshotMeta);
    if (!decoded.ok) throw corruptError(dir, `snapshot meta (key "s"): ${decoded.why}`);
    snapshotMeta = decoded.value;
    const chunks: Uint8Array[] = [];
    for (let c = 0; c < snapshotMeta.chunkCount; c++) {
      const chunk = await db.get(chunkKey(c));
      if (chunk === undefined) throw corruptError(dir, `snapshot chunk ${c} of ${snapshotMeta.chunkCount} is missing`);
      chunks.push(chunk);
    }
    const data = Buffer.concat(chunks);
    if (data.length !== snapshotMeta.dataBytes) {
      throw corruptError(dir, `snapshot data is ${data.length} bytes, its meta says ${snapshotMeta.dataBytes}`);
    }
    const meta: SnapshotMeta = { index: snapshotMeta.index, term: snapshotMeta.term, conf: snapshotMeta.conf };
    snapshot = { meta, data };
  }
  const snapshotIndex = snapshotMeta ? snapshotMeta.index : 0;
  const snapshotTerm = snapshotMeta ? snapshotMeta.term : 0;

  const entries: Entry[] = [];
  let diskFirst = snapshotIndex + 1;
  let diskLast = snapshotIndex;
  let prev: Entry | null = null;
  for await (const [key, value] of db.iterator({ gte: entryKeyMin, lt: entryKeyEnd })) {
    const index = indexOfEntryKey(key);
    if (index < 0) throw corruptError(dir, `malformed entry key ${Buffer.from(key).toString('hex')}`);
    const decoded = decodeEntry(index, value);
    if (!decoded.ok) throw corruptError(dir, `entry ${index}: ${decoded.why}`);
    const entry = decoded.value;
    if (prev === null) {
      if (index > snapshotIndex + 1) {
        throw corruptError(
          dir,
          snapshotMeta
            ? `the log starts at index ${index}, but the snapshot ends at ${snapshotIndex}: entries ${snapshotIndex + 1}..${index - 1} are missing`
            : `the log starts at index ${index} with no snapshot: entries 1..${index - 1} are missing`,
        );
      }
      diskFirst = index;
    } else {
      if (index !== prev.index + 1) throw corruptError(dir, `gap in the log: entry ${prev.index} is followed by entry ${index}`);
      if (entry.term < prev.term) throw corruptError(dir, `entry ${index} has term ${entry.term}, lower than entry ${prev.index}'s term ${prev.term}`);
    }
    if (index === snapshotIndex && entry.term !== snapshotTerm) {
      throw corruptError(dir, `entry ${index} has term ${entry.term}, but the snapshot at that index has term ${snapshotTerm}`);
    }
    if (index === snapshotIndex + 1 && entry.term < snapshotTerm) {
      throw corruptError(dir, `entry ${index} has term ${entry.term}, lower than the snapshot's term ${snapshotTerm}`);
    }
    // Entries at or below the snapshot index are covered by it; compact() removes them.
    if (index > snapshotIndex) entries.push(entry);
    diskLast = index;
    prev = entry;
  }

  const lastIndex = Math.max(diskLast, snapshotIndex);
  const lastTerm = entries.length > 0 ? entries[entries.length - 1].term : snapshotTerm;
  if (hardState.commit > lastIndex) {
    throw corruptError(dir, `the hard state's commit index ${hardState.commit} is beyond the last log index ${lastIndex} (snapshot index ${snapshotIndex})`);
  }
  if (lastTerm > hardState.term) {
    throw corruptError(dir, `the last entry has term ${lastTerm}, beyond the hard state's term ${hardState.term}`);
  }
  if (diskFirst > diskLast) {
    diskFirst = snapshotIndex + 1;
    diskLast = snapshotIndex;
  }

  return { loaded: { hardState, snapshot, entries, meta }, diskFirst, diskLast, snapshotMeta };
}
