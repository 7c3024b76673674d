// The contract between the server and the replicated state machine.
//
// The state machine is deterministic: the same sequence of LogCommands, applied at the same log
// indexes, gives the same keyspace and the same replies on every replica. It owns no clock and
// no randomness: time comes from the entry (stamped by the leader), and the fencing token of a
// grant is the log index of the entry that granted it.

import type { Reply } from '../resp/reply';

/** What the leader proposes to the log; encoded with msgpackr (src/locks/log_command.ts). */
export type LogCommand =
  /** A client's write command, run by the data-command handlers (including EVAL of a script). */
  | { kind: 'cmd'; db: number; argv: string[]; timeMs: number }
  /** The leader's expiry sweep: delete each key that is still expired at timeMs. */
  | { kind: 'expire'; db: number; keys: string[]; timeMs: number }
  /**
   * First entry a new leader proposes: time stays paused for `extendMs` so that every deadline is
   * extended by the election timeout across a leader change (never shortened), as etcd and Consul do.
   */
  | { kind: 'leader'; leaderId: string; extendMs: number; timeMs: number }
  /**
   * Which incarnation of a member's data dir the cluster knows (set on its first hello, cleared
   * by RAFT.ADDNODE). A member that comes back with another incarnation lost its data: it is refused.
   */
  | { kind: 'member'; nodeId: string; incarnation: string; timeMs: number };

/** Passed to every data-command handler. */
export interface ExecContext {
  /** Log index of the entry being applied; it is the fencing token of any grant. 0 on the read path. */
  readonly index: number;
  /** The state machine's time for this command, in ms since the Unix epoch (logical, never goes back). */
  readonly nowMs: number;
  /** Selected database (0 .. databases-1). */
  db: number;
  /** true on the read path: the handler must not change state (expired keys are hidden, not deleted). */
  readonly readOnly: boolean;
  /** true when called from a Lua script through redis.call/pcall. */
  readonly fromScript: boolean;
}

/** Side effects that leave the state machine: pub/sub deliveries happen on every replica that applies. */
export interface StateMachineEvents {
  /** Deliver to this node's local subscribers; returns how many received it. */
  publish(channel: string, message: string): number;
  /** Script log lines (redis.log). */
  log(level: 'debug' | 'verbose' | 'notice' | 'warning', message: string): void;
}

export interface ApplyResult {
  readonly reply: Reply;
}
