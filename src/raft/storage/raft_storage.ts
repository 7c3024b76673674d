// Durable Raft state: log entries and the hard state in a write-ahead log of preallocated segments
// (wal.ts), the latest snapshot as a file (snapshot_file.ts), and the meta record and the
// snapshot's meta record in classic-level (LevelDB).
//
// The driver calls save() once per Ready with everything in it; save() turns that into ONE append
// of records to the WAL, written with one write and one fdatasync. That single fdatasync is the
// group commit that makes the batch's entries and hard state durable together (a torn append is
// dropped whole at open: it was never acknowledged). Messages that depend on the batch may leave
// the node only after save() resolves. A batch that only moves the commit index is not written at
// all until the next save (etcd's MustSync rule, taken one step further): losing it in a crash
// loses nothing Raft cannot relearn.
//
// Why the snapshot is a file: through LevelDB its bytes were copied into a write batch and a
// memtable, malloc arenas glibc keeps after they are freed (hundreds of MB of RSS at a million
// locks), and the write stalled LevelDB for the memtable flush.
//
// Why a WAL instead of a LevelDB key per entry: a LevelDB sync write appends to a growing file, so
// every fdatasync also commits the ext4 journal; a write into a zero-filled preallocated segment
// does not (see wal_segment.ts), and the per-entry puts cost CPU too.
//
// A snapshot is written FIRST as a file and its meta record to LevelDB (synced), THEN its marker to the
// WAL. A crash between the two leaves a stored snapshot newer than the log's last marker; open()
// applies that marker at the end of the replay (nothing can have been appended in between) and
// appends it, completing the save. Once the marker is durable, the WAL segments whose entries the
// snapshot covers are deleted.
//
// Opening the storage reads everything back and checks it. Anything inconsistent is refused with a
// StorageError naming the directory: starting on a damaged log could forget writes a quorum has
// acknowledged, so we never truncate or repair silently. The one repair, a torn WAL tail, is of a
// write that was never acknowledged, and is reported through the logger.

import assert from 'node:assert';
import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Entry, HardState, Snapshot, SnapshotMeta } from '../types';
import { StorageError, corruptError } from './errors';
import {
  decodeMeta,
  decodeSnapshotMeta,
  encode,
  encodeEntriesRecord,
  encodeHardStateRecord,
  encodeSnapshotMarkerRecord,
  formatVersion,
  metaKey,
  peekFormatVersion,
  snapshotMetaKey,
  type MetaRecord,
  type SnapshotMetaRecord,
} from './layout';
import { LogReplay, type SnapshotMarker } from './log_replay';
import { TermRuns } from './term_runs';
import { Wal } from './wal';
import { listSnapshotFiles, readSnapshotFile, removeSnapshotFilesBefore, removeStrayTmpFiles, snapshotFileName, writeSnapshotFile } from './snapshot_file';

export interface StorageIdentity {
  readonly nodeId: string;
  /** Undefined on first open stores a random cluster id; undefined later accepts the stored one. */
  readonly clusterId?: string;
}

/** Optional tuning and reporting; the defaults suit a node. */
export interface StorageOptions {
  /** Size of a new WAL segment file (default 64 MiB); tests use small ones to exercise rollover. */
  readonly walSegmentBytes?: number;
  /** Told what open() repaired (a torn WAL tail, an interrupted snapshot save); a Logger fits. */
  readonly logger?: { warn(message: string, fields?: Record<string, unknown>): void };
  /**
   * Never sync the log (--test-unsafe-no-fsync): every append goes to the page cache only, so a
   * kernel crash or power loss can lose acknowledged writes. Snapshots are still synced.
   */
  readonly unsafeNoFsync?: boolean;
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
   * fsync; the WAL's single sequential log makes it durable with the next synced write, and a
   * crash before that only loses a commit index that Raft relearns from the leader. An update
   * with a snapshot is always synced.
   */
  readonly sync?: boolean;
  /**
   * The caller has nothing to do until this update is durable (a follower's Ready, whose messages
   * wait for it, or a leader's lone small write at light load): a small synced write is then made on the event loop, without the thread pool's
   * round trip (Wal.append's `blocking`). Coalesced updates block only if every one of them asks to.
   */
  readonly blocking?: boolean;
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
  /** Synced appends written on the event loop (StorageUpdate.blocking). */
  readonly blockingWrites: number;
}


export class RaftStorage {
  readonly dir: string;
  private readonly db: ClassicLevel<Uint8Array, Uint8Array>;
  private readonly wal: Wal;
  private initial: LoadedState;

  /** The index range and terms of the entries after the snapshot. */
  private terms: TermRuns;
  private snapshotMeta: SnapshotMetaRecord | null;
  /** The last snapshot marker in the WAL: the stored snapshot's, except between the two writes of a snapshot save. */
  private marker: { index: number; term: number };
  /** The saved hard state: no entry may carry a later term than its term (open() refuses such a log). */
  private hardState: HardState;
  /** Per WAL segment: the highest entry index written to it. A segment goes once the snapshot covers that. */
  private readonly segmentMaxIndex: Map<number, number>;

  // Writes run one at a time, in call order, so the in-memory range always matches the disk.
  private queue: Promise<void> = Promise.resolve();
  private failed: unknown = null;
  private closed = false;

  /** The group of updates waiting for the write in progress to finish; they share the next batch. */
  private coalescing: { updates: StorageUpdate[]; done: Promise<void> } | null = null;
  /** A commit-only hard state not written yet: it goes out with the next write (see save()). */
  private deferredHardState: HardState | null = null;
  private fsyncCount = 0;
  private fsyncLastMicros = 0;
  private fsyncTotalMicros = 0;
  private fsyncMaxMicros = 0;
  private readonly unsafeNoFsync: boolean;

  private constructor(dir: string, db: ClassicLevel<Uint8Array, Uint8Array>, wal: Wal, read: ReadState, unsafeNoFsync: boolean) {
    this.dir = dir;
    this.unsafeNoFsync = unsafeNoFsync;
    this.db = db;
    this.wal = wal;
    this.initial = read.loaded;
    this.snapshotMeta = read.snapshotMeta;
    const snapshotIndex = read.snapshotMeta ? read.snapshotMeta.index : 0;
    this.terms = TermRuns.of(read.loaded.entries, snapshotIndex + 1);
    this.marker = read.marker;
    this.hardState = read.loaded.hardState;
    this.segmentMaxIndex = read.segmentMaxIndex;
  }

  /** Opens (creating if absent) the storage at `dir` and reads and checks everything in it. */
  static async open(dir: string, identity: StorageIdentity, options: StorageOptions = {}): Promise<RaftStorage> {
    assert(identity.nodeId !== '', 'nodeId must not be empty');
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open({ createIfMissing: true });
    } catch (error) {
      throw openError(dir, error);
    }
    // Every new WAL segment begins with the state at its start; the storage answers once it exists.
    const hooks = { prologue: (): Buffer[] => [] };
    let wal: Wal | null = null;
    try {
      const meta = await readMeta(dir, db, identity);
      const stored = meta ? await readSnapshot(dir, db) : { snapshotMeta: null, snapshot: null };
      const replay = new LogReplay(dir);
      const warn = options.logger ? (message: string, fields: Record<string, unknown>) => options.logger!.warn(message, { dir, ...fields }) : undefined;
      wal = await Wal.open(
        path.join(dir, 'wal'),
        { segmentBytes: options.walSegmentBytes, create: meta === null, prologue: () => hooks.prologue(), warn, ownerDir: dir },
        (payload, at) => replay.apply(payload, at),
      );
      let created = meta;
      if (created === null) {
        if (replay.records > 0) throw corruptError(dir, 'it holds Raft records but no meta record (key "m")');
        created = { formatVersion, nodeId: identity.nodeId, clusterId: identity.clusterId ?? randomUUID(), createdAtMs: Date.now() };
        await db.put(metaKey, encode(created), { sync: true });
      }
      const replayed = replay.finish(stored.snapshotMeta);
      const read: ReadState = {
        loaded: { hardState: replayed.hardState, snapshot: stored.snapshot, entries: replayed.entries, meta: created },
        snapshotMeta: stored.snapshotMeta,
        marker: replayed.marker,
        segmentMaxIndex: replayed.segmentMaxIndex,
      };
      const storage = new RaftStorage(dir, db, wal, read, options.unsafeNoFsync === true);
      hooks.prologue = () => storage.prologue();
      if (replayed.missingMarker) {
        await storage.appendMarker(replayed.missingMarker);
        warn?.('completed a snapshot save a crash interrupted: the snapshot was stored, its marker in the write-ahead log was not', {
          snapshotIndex: replayed.missingMarker.index,
        });
      }
      // Segments a crash kept from being deleted after the last snapshot.
      void storage.removeSegments(storage.snapshotIndex);
      return storage;
    } catch (error) {
      await wal?.close().catch(() => {});
      await db.close().catch(() => {});
      throw error;
    }
  }

  /** The state read at open: hard state, snapshot and the entries after it. */
  loaded(): LoadedState {
    return this.initial;
  }

  /** Drops what open() read (the snapshot's data, every entry): after the owner took it, it is only memory. */
  releaseLoaded(): void {
    this.initial = { ...this.initial, snapshot: null, entries: [] };
  }

  get lastIndex(): number {
    return Math.max(this.terms.last, this.snapshotIndex);
  }

  get firstIndex(): number {
    return this.terms.isEmpty ? this.snapshotIndex + 1 : this.terms.first;
  }

  get snapshotIndex(): number {
    return this.snapshotMeta ? this.snapshotMeta.index : 0;
  }

  /**
   * Writes the update as one WAL append, fdatasynced (unless update.sync is false); resolves once
   * it is durable. Updates saved while an earlier write is on disk are coalesced: they go out
   * together in the next append, with one fdatasync (group commit at the storage layer, so a
   * leader that hands over a Ready per event-loop turn still pays one fsync per disk round).
   */
  save(update: StorageUpdate): Promise<void> {
    if (this.closed) return this.enqueue(async () => {}); // rejects: closed
    if (update.sync === false && !update.snapshot && !(update.entries?.length) && update.hardState) {
      // A commit-only hard state (etcd's MustSync false) need not reach the disk now: a crash may
      // lose it either way, and Raft relearns the commit index. Kept until the next write (or
      // close), it costs no write of its own: at one client it was a second disk write per entry,
      // and it made the next synced append take write + fdatasync instead of one O_DSYNC write.
      this.deferredHardState = update.hardState;
      return Promise.resolve();
    }
    const deferred = this.deferredHardState;
    this.deferredHardState = null;
    if (deferred !== null && !update.hardState) update = { ...update, hardState: deferred };
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
   * Deletes entries with index <= `index`, which must be covered by the saved snapshot: the WAL
   * segments holding only such entries. save() with a snapshot already starts this.
   */
  compact(index: number): Promise<void> {
    return this.enqueue(async () => {
      assert(index <= this.snapshotIndex, `compact(${index}) beyond the saved snapshot (${this.snapshotIndex})`);
      await this.removeSegments(index);
    });
  }

  stats(): StorageStats {
    return {
      fsyncCount: this.fsyncCount,
      fsyncLastMicros: this.fsyncLastMicros,
      fsyncAvgMicros: this.fsyncCount === 0 ? 0 : Math.round(this.fsyncTotalMicros / this.fsyncCount),
      fsyncMaxMicros: this.fsyncMaxMicros,
      blockingWrites: this.wal.blockingAppends,
      firstIndex: this.firstIndex,
      lastIndex: this.lastIndex,
      snapshotIndex: this.snapshotIndex,
      snapshotTerm: this.snapshotMeta ? this.snapshotMeta.term : 0,
      snapshotBytes: this.snapshotMeta ? this.snapshotMeta.dataBytes : 0,
    };
  }

  /** Bytes on disk: LevelDB's estimate (compressed, may lag recent writes) plus the WAL segment files (preallocated). */
  async approximateSizeBytes(): Promise<number> {
    return (await this.db.approximateSize(new Uint8Array([0]), new Uint8Array([0xff]))) + this.wal.sizeBytes();
  }

  /** Waits for queued writes, then closes the WAL and the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.deferredHardState !== null) await this.save({ hardState: this.deferredHardState }).catch(() => {});
    this.closed = true;
    await this.queue.catch(() => {});
    await this.wal.close();
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

  /**
   * Writes the updates, in order, as one WAL append: one fdatasync for all (none if none asks for
   * it). Everything is checked, and the records built, before anything is written, so a caller's
   * mistake (an assertion) leaves the storage as it was.
   */
  private async write(updates: readonly StorageUpdate[]): Promise<void> {
    assert(updates.length === 1 || updates.every((u) => !u.snapshot), 'a snapshot is written alone');
    const terms = this.terms.clone();
    let hardState = this.hardState;
    let snapshot: { readonly meta: SnapshotMetaRecord; readonly data: Uint8Array; readonly keepAfter: boolean } | null = null;
    const records: Buffer[] = [];
    let maxEntryIndex = 0;
    let sync = false;
    for (const update of updates) {
      const entries = update.entries ?? [];
      const recordsBefore = records.length;

      // A snapshot at or below the saved one adds nothing (the saved one covers it): skip it.
      if (update.snapshot && update.snapshot.meta.index > this.snapshotIndex) {
        const { meta, data } = update.snapshot;
        const keepAfter = terms.termAt(meta.index) === meta.term;
        if (keepAfter) terms.dropThrough(meta.index);
        else terms.clear(meta.index + 1);
        snapshot = { meta: { index: meta.index, term: meta.term, conf: meta.conf, dataBytes: data.length }, data, keepAfter };
        records.push(encodeSnapshotMarkerRecord(meta.index, meta.term, keepAfter));
      }
      const snapshotIndex = snapshot ? snapshot.meta.index : this.snapshotIndex;

      if (entries.length > 0) {
        const first = entries[0].index;
        const lastIndex = Math.max(terms.last, snapshotIndex);
        assert(first > snapshotIndex, `entries start at ${first}, inside the snapshot (index ${snapshotIndex})`);
        assert(first <= lastIndex + 1, `entries start at ${first}, leaving a gap after the last index ${lastIndex}`);
        for (let i = 0; i < entries.length; i++) assert(entries[i].index === first + i, `entries are not contiguous at ${first + i}`);
        const last = entries[entries.length - 1];
        const term = update.hardState ? update.hardState.term : hardState.term;
        assert(last.term <= term, `entry ${last.index} has term ${last.term}, beyond the hard state's term ${term}`);
        // The stale tail (entries past the new last index) goes with the overwritten suffix.
        terms.append(entries);
        records.push(encodeEntriesRecord(entries));
        maxEntryIndex = Math.max(maxEntryIndex, last.index);
      }

      if (update.hardState) {
        const lastIndex = Math.max(terms.last, snapshotIndex);
        assert(update.hardState.commit <= lastIndex, `hard state commit ${update.hardState.commit} beyond last index ${lastIndex}`);
        hardState = { term: update.hardState.term, vote: update.hardState.vote, commit: update.hardState.commit };
        records.push(encodeHardStateRecord(hardState));
      }
      if (records.length > recordsBefore && update.sync !== false) sync = true;
    }
    if (records.length === 0) return;

    const started = process.hrtime.bigint();
    if (snapshot) {
      // The marker may be written only once the snapshot is durable, and segments deleted only
      // once the marker is: always synced.
      sync = true;
      await this.storeSnapshot(snapshot.meta, snapshot.data, updates[0].hardState ?? null);
    }
    if (this.unsafeNoFsync) sync = false;
    const seq = await this.wal.append(records, sync, updates.every((u) => u.blocking === true));
    if (sync) {
      const micros = Number((process.hrtime.bigint() - started) / 1000n);
      this.fsyncCount++;
      this.fsyncLastMicros = micros;
      this.fsyncTotalMicros += micros;
      if (micros > this.fsyncMaxMicros) this.fsyncMaxMicros = micros;
    }
    this.terms = terms;
    this.hardState = hardState;
    if (maxEntryIndex > (this.segmentMaxIndex.get(seq) ?? 0)) this.segmentMaxIndex.set(seq, maxEntryIndex);
    if (snapshot) {
      this.snapshotMeta = snapshot.meta;
      this.marker = { index: snapshot.meta.index, term: snapshot.meta.term };
      void this.removeSegments(snapshot.meta.index);
    }
  }

  /**
   * The snapshot's data as a file (snapshot_file.ts), then its meta record in LevelDB (synced): the
   * record is what makes it the node's snapshot. Older files go once the record is durable.
   */
  private async storeSnapshot(meta: SnapshotMetaRecord, data: Uint8Array, hardState: HardState | null): Promise<void> {
    if (hardState && meta.term > this.hardState.term) {
      // A leader's snapshot arriving with our move to its term. The new term must be durable
      // before a snapshot of that term is, or a crash between the snapshot and its marker would
      // leave a snapshot whose term is beyond the hard state's, which open() refuses. The commit
      // index stays the saved one: the new one may lie beyond what the log holds until the marker.
      const early: HardState = { term: hardState.term, vote: hardState.vote, commit: this.hardState.commit };
      await this.wal.append([encodeHardStateRecord(early)], true);
      this.hardState = early;
    }
    const snapshotsDir = path.join(this.dir, 'snapshots');
    await writeSnapshotFile(snapshotsDir, meta, data);
    await this.db.put(snapshotMetaKey, encode(meta), { sync: true });
    await removeSnapshotFilesBefore(snapshotsDir, meta.index);
  }

  /** Appends the marker of the stored snapshot that a crash kept out of the WAL (see open()). */
  private async appendMarker(marker: SnapshotMarker): Promise<void> {
    await this.wal.append([encodeSnapshotMarkerRecord(marker.index, marker.term, marker.keepAfter)], true);
    this.marker = { index: marker.index, term: marker.term };
  }

  /**
   * The records every new WAL segment begins with: the last snapshot marker and the hard state,
   * so that deleting older segments never loses them (see log_replay.ts). keepAfter is true: in
   * a full replay the marker is a repeat and skipped; replayed first, there is nothing to keep.
   */
  private prologue(): Buffer[] {
    const records: Buffer[] = [];
    if (this.marker.index > 0) records.push(encodeSnapshotMarkerRecord(this.marker.index, this.marker.term, true));
    records.push(encodeHardStateRecord(this.hardState));
    return records;
  }

  /** Starts deleting the WAL segments all of whose entries are at or below `index` (covered by the saved snapshot). */
  private removeSegments(index: number): Promise<void> {
    return this.wal.removeSegments(
      (seq) => (this.segmentMaxIndex.get(seq) ?? 0) <= index,
      (seq) => this.segmentMaxIndex.delete(seq),
    );
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
  readonly snapshotMeta: SnapshotMetaRecord | null;
  readonly marker: { index: number; term: number };
  readonly segmentMaxIndex: Map<number, number>;
}

/** The checked meta record, or null for a new directory (LevelDB holds nothing yet). */
async function readMeta(dir: string, db: ClassicLevel<Uint8Array, Uint8Array>, identity: StorageIdentity): Promise<MetaRecord | null> {
  const rawMeta = await db.get(metaKey);
  if (rawMeta === undefined) {
    for await (const _key of db.keys({ limit: 1 })) {
      throw corruptError(dir, 'it holds Raft records but no meta record (key "m")');
    }
    return null;
  }
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
  const meta = decoded.value;
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
  return meta;
}

async function readSnapshot(dir: string, db: ClassicLevel<Uint8Array, Uint8Array>): Promise<{ snapshotMeta: SnapshotMetaRecord | null; snapshot: Snapshot | null }> {
  const snapshotsDir = path.join(dir, 'snapshots');
  removeStrayTmpFiles(snapshotsDir);
  const rawSnapshotMeta = await db.get(snapshotMetaKey);
  if (rawSnapshotMeta === undefined) {
    // A snapshot file whose meta record a crash kept out is not the node's snapshot yet.
    for (const file of listSnapshotFiles(snapshotsDir)) fs.rmSync(file.path, { force: true });
    return { snapshotMeta: null, snapshot: null };
  }
  const decoded = decodeSnapshotMeta(rawSnapshotMeta);
  if (!decoded.ok) throw corruptError(dir, `snapshot meta (key "s"): ${decoded.why}`);
  const snapshotMeta = decoded.value;
  const files = listSnapshotFiles(snapshotsDir);
  const file = files.find((f) => f.index === snapshotMeta.index && f.term === snapshotMeta.term);
  if (file === undefined) {
    throw corruptError(dir, `the snapshot file ${path.join(snapshotsDir, snapshotFileName(snapshotMeta.index, snapshotMeta.term))} is missing`);
  }
  // Others: older ones a crash kept from being deleted, or a newer one whose meta record never made it.
  for (const other of files) if (other !== file) fs.rmSync(other.path, { force: true });
  const { data } = readSnapshotFile(dir, file);
  if (data.length !== snapshotMeta.dataBytes) {
    throw corruptError(dir, `snapshot data is ${data.length} bytes, its meta says ${snapshotMeta.dataBytes}`);
  }
  const meta: SnapshotMeta = { index: snapshotMeta.index, term: snapshotMeta.term, conf: snapshotMeta.conf };
  return { snapshotMeta, snapshot: { meta, data } };
}
