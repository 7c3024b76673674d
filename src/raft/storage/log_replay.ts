// Rebuilds the log, the hard state and the last snapshot marker from the write-ahead log's records,
// in the order they were written, by the rules save() applied when it wrote them:
//
//   ENTRIES f..     every entry with index >= f is dropped, then these are appended (a later record
//                   overwrites a conflicting suffix: the log is append-only, the last word wins)
//   HARD_STATE      the last one wins
//   SNAPSHOT_MARKER entries <= index are dropped; keepAfter false drops the later ones too. A marker
//                   at or below the last one is a repeat (every segment's prologue) and is skipped,
//                   as save() skips a snapshot at or below the saved one.
//
// The markers carry save()'s keep-or-discard decision instead of replay re-deriving it from the
// entry at the snapshot's index, because that entry may have lived in a segment deleted since.
//
// Segments whose entries are all covered by the snapshot may have been deleted, so replay may start
// at any segment: the log then begins wherever the first ENTRIES record does, every segment begins
// with the snapshot's marker and the hard state (Wal prologue), and what the records do above the
// snapshot's index is the whole story. finish() checks the result as a whole and refuses anything
// inconsistent with a StorageError naming the directory.

import { corruptError } from './errors';
import { decodeWalRecord, walRecordName, WalRecordType, type SnapshotMetaRecord } from './layout';
import type { WalPosition } from './wal';
import type { Entry, HardState } from '../types';

export interface SnapshotMarker {
  readonly index: number;
  readonly term: number;
  readonly keepAfter: boolean;
}

export interface Replayed {
  /** Every entry after the snapshot, in index order. */
  readonly entries: Entry[];
  readonly hardState: HardState;
  /** The last snapshot marker in the log (index 0: none). */
  readonly marker: { readonly index: number; readonly term: number };
  /**
   * The marker of the stored snapshot, when the log lacks it (a crash came between the snapshot's
   * LevelDB write and its marker): applied here; the caller must append it before anything else.
   */
  readonly missingMarker: SnapshotMarker | null;
  /** Per segment sequence number: the highest entry index written to it. */
  readonly segmentMaxIndex: Map<number, number>;
}

const emptyHardState: HardState = { term: 0, vote: '', commit: 0 };

export class LogReplay {
  private readonly dir: string;
  /** Contiguous, in index order. */
  private entries: Entry[] = [];
  private hardState: HardState = emptyHardState;
  private markerIndex = 0;
  private markerTerm = 0;
  private readonly segmentMaxIndex = new Map<number, number>();
  /** How many records were applied. */
  records = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  apply(payload: Buffer, at: WalPosition): void {
    this.records++;
    const decoded = decodeWalRecord(payload);
    if (!decoded.ok) throw corruptError(this.dir, `${walRecordName(payload)} in ${at.file} at offset ${at.offset}: ${decoded.why}`);
    const record = decoded.value;
    switch (record.type) {
      case WalRecordType.Entries:
        this.applyEntries(record.first, record.entries, at);
        break;
      case WalRecordType.HardState:
        this.hardState = record.hardState;
        break;
      case WalRecordType.SnapshotMarker:
        this.applyMarker(record);
        break;
    }
  }

  /** Ends the replay against the snapshot stored in LevelDB (null: none) and checks the result. */
  finish(snapshot: SnapshotMetaRecord | null): Replayed {
    const snapshotIndex = snapshot ? snapshot.index : 0;
    const snapshotTerm = snapshot ? snapshot.term : 0;
    if (this.markerIndex > snapshotIndex) {
      throw corruptError(
        this.dir,
        `the write-ahead log records a snapshot at index ${this.markerIndex}, but the stored snapshot (key "s") ` +
          (snapshot ? `is at index ${snapshotIndex}` : 'is missing'),
      );
    }
    const marker = { index: this.markerIndex, term: this.markerTerm };
    let missingMarker: SnapshotMarker | null = null;
    if (snapshotIndex > this.markerIndex) {
      // Nothing can have been appended after the snapshot before its marker, so applying the
      // marker last is what applying it in its place would have done.
      missingMarker = { index: snapshotIndex, term: snapshotTerm, keepAfter: this.termAt(snapshotIndex) === snapshotTerm };
      this.applyMarker(missingMarker);
    }
    this.check(snapshotIndex, snapshotTerm);
    return { entries: this.entries, hardState: this.hardState, marker, missingMarker, segmentMaxIndex: this.segmentMaxIndex };
  }

  private applyEntries(first: number, entries: Entry[], at: WalPosition): void {
    if (first <= this.markerIndex) {
      throw corruptError(this.dir, `an entries record in ${at.file} at offset ${at.offset} starts at index ${first}, inside the snapshot at index ${this.markerIndex} before it`);
    }
    const held = this.entries;
    if (held.length === 0 || first <= held[0].index) {
      this.entries = entries;
    } else {
      const last = held[held.length - 1].index;
      if (first > last + 1) throw corruptError(this.dir, `gap in the log: entry ${last} is followed by entry ${first} (${at.file} at offset ${at.offset})`);
      held.length = first - held[0].index;
      for (const entry of entries) held.push(entry);
    }
    const max = entries[entries.length - 1].index;
    if (max > (this.segmentMaxIndex.get(at.seq) ?? 0)) this.segmentMaxIndex.set(at.seq, max);
  }

  private applyMarker(marker: SnapshotMarker): void {
    if (marker.index <= this.markerIndex) return;
    const held = this.termAt(marker.index);
    if (marker.keepAfter && held !== undefined && held !== marker.term) {
      throw corruptError(this.dir, `entry ${marker.index} has term ${held}, but the snapshot at that index has term ${marker.term}`);
    }
    if (!marker.keepAfter || this.entries.length === 0) {
      this.entries = [];
    } else {
      const cut = marker.index - this.entries[0].index + 1;
      if (cut > 0) this.entries = this.entries.slice(cut);
    }
    this.markerIndex = marker.index;
    this.markerTerm = marker.term;
  }

  private termAt(index: number): number | undefined {
    if (this.entries.length === 0) return undefined;
    const entry = this.entries[index - this.entries[0].index];
    return entry === undefined ? undefined : entry.term;
  }

  private check(snapshotIndex: number, snapshotTerm: number): void {
    const entries = this.entries;
    if (entries.length > 0 && entries[0].index !== snapshotIndex + 1) {
      const index = entries[0].index;
      throw corruptError(
        this.dir,
        snapshotIndex > 0
          ? `the log starts at index ${index}, but the snapshot ends at ${snapshotIndex}: entries ${snapshotIndex + 1}..${index - 1} are missing`
          : `the log starts at index ${index} with no snapshot: entries 1..${index - 1} are missing`,
      );
    }
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (i === 0 && entry.term < snapshotTerm) {
        throw corruptError(this.dir, `entry ${entry.index} has term ${entry.term}, lower than the snapshot's term ${snapshotTerm}`);
      }
      if (i > 0 && entry.term < entries[i - 1].term) {
        throw corruptError(this.dir, `entry ${entry.index} has term ${entry.term}, lower than entry ${entries[i - 1].index}'s term ${entries[i - 1].term}`);
      }
    }
    const lastIndex = entries.length > 0 ? entries[entries.length - 1].index : snapshotIndex;
    const lastTerm = entries.length > 0 ? entries[entries.length - 1].term : snapshotTerm;
    const hardState = this.hardState;
    if (hardState.commit > lastIndex) {
      throw corruptError(this.dir, `the hard state's commit index ${hardState.commit} is beyond the last log index ${lastIndex} (snapshot index ${snapshotIndex})`);
    }
    if (lastTerm > hardState.term) {
      throw corruptError(this.dir, `the last entry has term ${lastTerm}, beyond the hard state's term ${hardState.term}`);
    }
  }
}
