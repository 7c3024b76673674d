// Types shared by the Raft core (src/raft), its storage (src/raft/storage), its transport
// (src/raft/transport) and the driver (src/server/raft_driver.ts).
//
// The core is pure: it consumes messages, ticks and proposals and produces a Ready batch. The
// driver persists Ready.entries/hardState/snapshot in one synced write, then sends
// Ready.messages, then applies Ready.committedEntries, then calls advance(). Same contract as
// etcd-io/raft.

export type NodeId = string;

export enum EntryType {
  /** data is a state-machine command; empty data is the leader's no-op of its term. */
  Normal = 0,
  /** data is an encoded ConfChange. */
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be on disk before any message that depends on it leaves the node. */
export interface HardState {
  readonly term: number;
  /** Candidate voted for in `term`, or '' for none. */
  readonly vote: NodeId;
  readonly commit: number;
}

/** Cluster membership. `votersOutgoing` is non-empty only during a joint configuration. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's serialized state at meta.index. */
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'candidate' | 'precandidate' | 'leader';

/** Volatile state the driver reports (INFO raft) and routes on; not persisted. */
export interface SoftState {
  readonly leaderId: NodeId; // '' when unknown
  readonly role: Role;
}

/** A linearizable read point: serve the read once applied index >= index. */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/** Membership change requests; one at a time (or joint, see confchange.ts). */
export interface ConfChange {
  readonly type: 'addLearner' | 'addVoter' | 'removeNode';
  readonly nodeId: NodeId;
  /** Address book entry carried through the log so every node learns how to reach the new member. */
  readonly address?: string;
}
