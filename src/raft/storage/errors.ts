// Operating errors of the Raft storage, each with a stable `code` an operator (or the driver) can
// match on. Every message names the directory and says what to do: a node that refuses to start
// must tell its operator why, because starting anyway could lose writes a quorum acknowledged.

export type StorageErrorCode =
  /**
   * A record cannot be decoded, the records contradict each other (gap, term going back...), or
   * the write-ahead log is damaged other than by a torn last write (a bad record before the end of
   * what was written, a missing or misnamed segment file).
   */
  | 'STORAGE_CORRUPT'
  /** The directory belongs to another node id or another cluster. */
  | 'STORAGE_IDENTITY_MISMATCH'
  /** The directory was written by a format version this build does not read. */
  | 'STORAGE_VERSION'
  /** Another process holds the LevelDB lock on the directory. */
  | 'STORAGE_LOCKED'
  /** The database could not be opened for another reason (permissions, disk...); see `cause`. */
  | 'STORAGE_OPEN_FAILED'
  /** A previous write failed: what is on disk is unknown, so the storage refuses further use. */
  | 'STORAGE_FAILED';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly dir: string;

  constructor(code: StorageErrorCode, dir: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
    this.dir = dir;
  }
}

const corruptAdvice =
  'refusing to start rather than risk losing acknowledged writes: restore this directory from a backup, ' +
  'or move it away and re-add the node to the cluster so it catches up from the leader';

export function corruptError(dir: string, what: string, cause?: unknown): StorageError {
  return new StorageError('STORAGE_CORRUPT', dir, `raft storage at ${dir} is corrupt: ${what}; ${corruptAdvice}`, { cause });
}
