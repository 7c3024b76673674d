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

// ---- Added by the Raft core (issue 4): messages between nodes and the Ready batch. ----

/**
 * Every message the core sends or receives. Same vocabulary as etcd's raftpb (MsgApp, MsgVote, ...)
 * minus the local-only ones, which are method calls here (tick, propose, readIndex, campaign).
 */
export type MessageType =
  | 'app'
  | 'appResp'
  | 'vote'
  | 'voteResp'
  | 'preVote'
  | 'preVoteResp'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'snap'
  | 'snapResp'
  | 'readIndex'
  | 'readIndexResp'
  | 'timeoutNow';

/** One piece of a snapshot on its way to a lagging follower; chunks arrive in offset order. */
export interface SnapshotChunk {
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly totalBytes: number;
  readonly data: Uint8Array;
  readonly done: boolean;
}

/**
 * A flat message, every field always present (defaults 0 / false / [] / null) so the transport can
 * encode it with no per-type schema. Field meanings per type:
 * - app: index/logTerm = the entry preceding `entries`; commit = leader's commit.
 * - appResp: index = last index now matching (or the rejected index); reject with rejectHint/logTerm
 *   = the follower's guess of the last matching (index, term) (etcd's findConflictByTerm hint).
 * - vote/preVote: index/logTerm = candidate's last entry; context = 'transfer' to override leases.
 * - heartbeat: commit = min(follower match, leader commit); context = ReadIndex round, echoed back.
 * - snap: snapshot = one chunk. snapResp: index = snapshot index, rejectHint = next offset wanted.
 * - readIndex/readIndexResp: context identifies the read; index = the read point in the response.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly context: Uint8Array | null;
  readonly snapshot: SnapshotChunk | null;
}

/**
 * One batch of work for the driver, handled in this order: persist (snapshot, then entries, then
 * hardState, in one synced write when mustSync), send messages, install snapshot into the state
 * machine, apply committedEntries, serve readStates once applied >= index, then advance().
 */
export interface Ready {
  /** Present when role or leader changed. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed. */
  readonly hardState?: HardState;
  /**
   * Entries to persist. They may replace a suffix of the persisted log: storage deletes every
   * persisted entry with index >= entries[0].index before appending them.
   */
  readonly entries: readonly Entry[];
  /**
   * A snapshot received from the leader: persist it, drop every persisted entry (the snapshot
   * replaces the whole log), and restore the state machine from it before applying committedEntries.
   */
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** True when term/vote, entries or a snapshot changed: the write must be fsynced. A commit-only change need not be. */
  readonly mustSync: boolean;
  /**
   * True for a leader whose term and vote are already durable: `messages` may be sent, and
   * `committedEntries` (durable here) applied and `readStates` served, before this Ready is
   * persisted, so the leader's disk write overlaps its followers' and later Readys may be taken
   * before this one is advanced. Otherwise everything waits for the write to be durable.
   */
  readonly sendBeforePersist: boolean;
}
