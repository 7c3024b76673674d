// The replicated, deterministic state machine: every replica applies the same committed entries
// in the same order and ends with the same keyspace and the same replies.
//
// No clock, no randomness, no I/O here. Time comes from the entry (stamped by the leader); the
// fencing token of a grant is the entry's log index. Reads run on the same handlers with the
// leader's clock and a read-only context that hides expired keys instead of deleting them.
//
// Time. The state machine keeps a logical clock, clockMs, that never goes backwards:
//   clockMs = max(clockMs, entry.timeMs - offsetMs)
// Deadlines are stored on this logical timeline. A `leader` entry adds the election timeout to
// offsetMs: logical time then stands still until wall time has caught up by that much, so every
// deadline is pushed back by the time the cluster spent electing, and none is shortened. That is
// the etcd/Consul rule "extend every lease on leader change", done in O(1) instead of rewriting
// a million deadlines. Absolute times that clients send or read (PEXPIREAT, EXAT, PXAT,
// EXPIRETIME) are converted with the offset, so they stay Unix times on the wire.

import { Errors, ErrorReply, type Reply } from '../resp/reply';
import { arityOk, type CommandDef } from './command_spec';
import { assert } from './assert';
import { dataCommands } from './commands';
import type { DataHandler } from './commands/define';
import { findCommand, runHandler } from './commands/run';
import { DEFAULT_LIMITS, Keyspace, ScriptCache, type KeyspaceEnv, type StateMachineLimits } from './keyspace';
import type { ScriptEngine } from './scripting/types';
import { decodeSnapshot, digestKeyspace, SnapshotEncoder } from './snapshot';
import type { ExecContext, LogCommand, StateMachineEvents } from './types';

export { dataCommands };
export type { DataHandler, StateMachineLimits };
export type KeyspaceState = Keyspace;

export interface StateMachineOptions {
  /** Number of databases (SELECT 0..n-1); 16 like Redis. */
  readonly databases?: number;
  readonly scriptEngine: ScriptEngine | null;
  readonly events: StateMachineEvents;
  readonly limits?: Partial<StateMachineLimits>;
}

export interface StateMachineStats {
  keysPerDb: number[];
  expiresPerDb: number[];
  locks: number;
  scripts: number;
  appliedIndex: number;
  clockMs: number;
}

/** A snapshot being encoded while entries go on being applied (StateMachine.beginSnapshot). */
export interface SnapshotInProgress {
  /** The applied index the snapshot is of. */
  readonly index: number;
  /** Encodes about `maxKeys` more keys; true once all are in (then call finish()). */
  step(maxKeys: number): boolean;
  /** Encodes the rest and returns the snapshot. */
  finish(): Uint8Array;
  /** True once restore() replaced the state (or abandon() was called): the snapshot is void. */
  abandoned(): boolean;
  abandon(): void;
}

/** A `leader` entry may pause time by at most this much (a corrupt entry must not freeze TTLs for years). */
const LEADER_EXTEND_MS_MAX = 10 * 60 * 1000;

export class StateMachine {
  private state: Keyspace;
  private readonly env: KeyspaceEnv;
  private readonly databases: number;
  /** Bytes per key of the last snapshot: sizes the next one's buffer. */
  private snapshotBytesPerKey = 48;
  /** The snapshot being encoded a slice at a time, if any (beginSnapshot). */
  private encoding: SnapshotEncoder | null = null;

  constructor(options: StateMachineOptions) {
    this.databases = options.databases ?? 16;
    assert(Number.isInteger(this.databases) && this.databases >= 1 && this.databases <= 1024, 'databases must be 1..1024');
    this.env = {
      engine: options.scriptEngine,
      events: options.events,
      commands: dataCommands,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    };
    this.state = this.emptyState();
  }

  private emptyState(): Keyspace {
    return new Keyspace(this.databases, new ScriptCache(this.env.limits.scriptsMax, this.env.limits.scriptBytesMax), this.env);
  }

  /** Write path: applies one committed log entry at `index`; returns the reply for the client. */
  apply(command: LogCommand, index: number): Reply {
    const state = this.state;
    assert(Number.isSafeInteger(index) && index > state.appliedIndex, `apply out of order: index ${index} after ${state.appliedIndex}`);
    state.appliedIndex = index;
    if (command === null || typeof command !== 'object') return new ErrorReply('ERR malformed log entry');
    if (command.kind === 'leader') {
      const extendMs = command.extendMs;
      if (typeof extendMs === 'number' && Number.isFinite(extendMs) && extendMs > 0) {
        state.offsetMs += Math.min(extendMs, LEADER_EXTEND_MS_MAX);
      }
      this.advanceClock(command.timeMs);
      return null;
    }
    if (command.kind === 'member') {
      this.advanceClock(command.timeMs);
      if (typeof command.nodeId !== 'string' || typeof command.incarnation !== 'string') return new ErrorReply('ERR malformed log entry');
      if (command.incarnation === '') state.memberIncarnations.delete(command.nodeId);
      else state.memberIncarnations.set(command.nodeId, command.incarnation);
      return null;
    }
    this.advanceClock(command.timeMs);
    if (!this.validDb(command.db)) return Errors.dbIndexOutOfRange;
    const ctx: ExecContext = { index, nowMs: state.clockMs, db: command.db, readOnly: false, fromScript: false };
    if (command.kind === 'expire') return this.applyExpire(command.keys, ctx);
    if (command.kind === 'cmd') {
      const argv = command.argv;
      if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) return new ErrorReply('ERR malformed log entry');
      const def = findCommand(this.env.commands, argv);
      const checked = checkCommand(def, argv);
      if (checked !== null) return checked;
      return runHandler(def!, state, argv, ctx);
    }
    return new ErrorReply('ERR malformed log entry');
  }

  /** The leader's sweep: deletes each listed key that is still expired at the entry's time. */
  private applyExpire(keys: unknown, ctx: ExecContext): Reply {
    if (!Array.isArray(keys)) return new ErrorReply('ERR malformed log entry');
    const db = this.state.dbs[ctx.db];
    let removed = 0;
    for (const key of keys) {
      if (typeof key !== 'string') continue;
      const entry = db.get(key);
      if (entry !== undefined && entry.deadlineMs !== 0 && entry.deadlineMs <= ctx.nowMs && db.remove(key)) removed++;
    }
    return removed;
  }

  /** Read path for 'readonly' commands (and EVAL_RO): runs with the leader's clock, never mutates. */
  read(db: number, argv: string[], wallNowMs: number): Reply {
    if (!this.validDb(db)) return Errors.dbIndexOutOfRange;
    const def = findCommand(this.env.commands, argv);
    const checked = checkCommand(def, argv);
    if (checked !== null) return checked;
    if (!def!.flags.includes('readonly')) return new ErrorReply(`ERR '${def!.name}' is not a read-only command`);
    const ctx: ExecContext = { index: 0, nowMs: this.logicalNow(wallNowMs), db, readOnly: true, fromScript: false };
    return runHandler(def!, this.state, argv, ctx);
  }

  /** The data-dir incarnation the cluster recorded for a member, or undefined. */
  memberIncarnation(nodeId: string): string | undefined {
    return this.state.memberIncarnations.get(nodeId);
  }

  /** The state machine's logical time for a wall-clock reading. */
  logicalNow(wallNowMs: number): number {
    const candidate = wallNowMs - this.state.offsetMs;
    return candidate > this.state.clockMs ? candidate : this.state.clockMs;
  }

  /**
   * For the leader's expiry sweep: up to `max` keys that are expired at logicalNow(wallNowMs),
   * grouped by db. Pops the expiry heaps (dropping stale items) and pushes the live ones back, so
   * calling it changes no replicated state and a lost proposal loses nothing.
   */
  expiredKeys(wallNowMs: number, max: number): Array<{ db: number; keys: string[] }> {
    const now = this.logicalNow(wallNowMs);
    const groups: Array<{ db: number; keys: string[] }> = [];
    let budget = max;
    for (let d = 0; d < this.state.dbs.length && budget > 0; d++) {
      const db = this.state.dbs[d];
      const heap = db.heap;
      const keys: string[] = [];
      const deadlines: number[] = [];
      const seen = new Set<string>();
      while (budget > 0 && heap.peekDeadline() <= now) {
        const deadlineMs = heap.peekDeadline();
        const key = heap.peekKey();
        heap.pop();
        const entry = db.get(key);
        if (entry === undefined || entry.deadlineMs !== deadlineMs || seen.has(key)) continue;
        seen.add(key);
        keys.push(key);
        deadlines.push(deadlineMs);
        budget--;
      }
      for (let i = 0; i < keys.length; i++) heap.push(deadlines[i], keys[i]);
      if (keys.length > 0) groups.push({ db: d, keys });
    }
    return groups;
  }

  /** The whole state as of now, encoded at once. */
  snapshot(): Uint8Array {
    return this.beginSnapshot().finish();
  }

  /**
   * Starts a snapshot of the state as of now (its `index` is the applied index) that the caller
   * encodes a slice at a time with step(), applying entries in between, and ends with finish().
   * One at a time; restore() abandons it.
   */
  beginSnapshot(): SnapshotInProgress {
    this.encoding?.detach();
    const encoder = new SnapshotEncoder(this.state, this.snapshotBytesPerKey);
    this.encoding = encoder;
    return {
      index: encoder.appliedIndex,
      step: (maxKeys) => encoder.step(maxKeys),
      finish: () => {
        const { data, bytesPerKey } = encoder.finish();
        this.snapshotBytesPerKey = bytesPerKey;
        if (this.encoding === encoder) this.encoding = null;
        return data;
      },
      abandoned: () => encoder.abandoned,
      abandon: () => {
        encoder.detach();
        if (this.encoding === encoder) this.encoding = null;
      },
    };
  }

  restore(data: Uint8Array): void {
    const restored = decodeSnapshot(data, this.env);
    if (restored.dbs.length !== this.databases) throw new Error(`snapshot has ${restored.dbs.length} databases, this node is configured with ${this.databases}`);
    this.encoding?.detach();
    this.encoding = null;
    this.state = restored;
  }

  digest(): string {
    return digestKeyspace(this.state);
  }

  stats(): StateMachineStats {
    const state = this.state;
    let locks = 0;
    for (const db of state.dbs) locks += db.lockCount;
    return {
      keysPerDb: state.dbs.map((db) => db.size),
      expiresPerDb: state.dbs.map((db) => db.volatileCount),
      locks,
      scripts: state.scripts.size,
      appliedIndex: state.appliedIndex,
      clockMs: state.clockMs,
    };
  }

  private advanceClock(timeMs: unknown): void {
    if (typeof timeMs !== 'number' || !Number.isFinite(timeMs)) return;
    const candidate = timeMs - this.state.offsetMs;
    if (candidate > this.state.clockMs) this.state.clockMs = candidate;
  }

  private validDb(db: unknown): db is number {
    return typeof db === 'number' && Number.isInteger(db) && db >= 0 && db < this.databases;
  }
}

/** The dispatcher's checks again (existence, arity), as replies: apply() must never throw. */
function checkCommand(def: CommandDef<DataHandler> | undefined, argv: string[]): ErrorReply | null {
  if (def === undefined) return unknownCommand(argv);
  if (!arityOk(def, argv.length)) return Errors.wrongArity(def.name);
  return null;
}

function unknownCommand(argv: string[]): ErrorReply {
  const clean = (text: string): string => text.replace(/[\r\n]/g, ' ');
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) args += `'${clean(argv[i]).slice(0, 128 - args.length)}' `;
  return new ErrorReply(`ERR unknown command '${clean(argv[0] ?? '').slice(0, 128)}', with args beginning with: ${args}`);
}
