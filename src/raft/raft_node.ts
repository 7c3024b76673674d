// The Raft consensus core: roles and their step functions (etcd-io/raft's raft.go + rawnode.go),
// with no I/O, no timers and no randomness of its own, so the simulator can replay any run.
//
// API (the driver's contract):
//   const node = new RaftNode(config, initialState)   // initialState = what storage persisted
//   node.tick()                        // every tickMs; elections/heartbeats are counted in ticks
//   node.step(message)                 // every message from a peer
//   node.propose(data)                 // -> {ok:true,index,term} | {ok:false,reason,leaderId}
//   node.proposeConfChange(cc)         // same result shape; one change at a time (confchange.ts)
//   node.readIndex(context)            // a ReadState {index, context} comes back in a Ready
//   node.transferLeadership(to)        // leader only; proposals are refused while it runs
//   node.campaign()                    // start an election now (a single voter leads at once)
//   node.forgetLeader()                // a follower stops honouring a leader it believes dead
//   node.compact(index, data)          // the app snapshotted its state at applied `index`
//   node.status()                      // for INFO / CLUSTER
//   while (node.hasReady()) {
//     const rd = node.ready();
//     persist(rd.snapshot, rd.entries, rd.hardState)   // one write; fsync when rd.mustSync
//     send(rd.messages)                                // after the write, unless rd.sendBeforePersist
//     if (rd.snapshot) restoreStateMachine(rd.snapshot)
//     apply(rd.committedEntries); serveReads(rd.readStates)
//     node.advance();                                  // conf changes take effect here
//   }
// ready() must not be called again before advance() (hasReady() says false), except by a leader
// whose term and vote are durable: it may hold up to MAX_OUTSTANDING_READIES Readys at once,
// advanced in the order they were taken. Such a Ready has sendBeforePersist: its messages go out,
// and its committedEntries (all durable here) are applied, as soon as it is taken; only advance()
// waits for its write. step/tick/propose may be called in between and go into the next Ready.
//
// Elections: a follower campaigns after a randomized timeout in [electionTicks, 2*electionTicks).
// With one voter, campaign() (or the first timeout) makes it leader immediately: it needs no
// votes but its own. The leader's own log counts towards a commit only once it is durable
// (RaftLog.stable, moved at advance()), so the leader may send its entries before its own write
// finishes (Ready.sendBeforePersist; Raft thesis 10.2.1) and its disk write overlaps the
// followers'. A single node commits in the Ready after the one that persists the entry; that
// commit-only Ready needs no fsync (Ready.mustSync is false), so it costs no second disk flush.
//
// Bug knobs (config.bugs) exist only so the simulator's tests can prove they catch each bug.

import assert from 'node:assert';
import { applyConfChange, confMembers, decodeConfChange, encodeConfChange, validateConfChange } from './confchange';
import { Progress, type ProgressState } from './progress';
import { jointCommitted, jointVoteResult, type VoteResult } from './quorum';
import { RaftLog } from './raft_log';
import { contextKey, ReadOnly, type ReadRequest } from './read_only';
import {
  EntryType,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SnapshotChunk,
  type SnapshotMeta,
  type SoftState,
} from './types';

export interface RaftLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
}

/** Deliberate bugs, for tests of the simulator only. Never set in production. */
export interface RaftBugs {
  /** A candidate counts (pre)vote responses without checking their term and type. */
  readonly noPreVoteTermCheck?: boolean;
  /**
   * The leader commits entries of previous terms by counting replicas (Raft figure 8). Like the
   * figure-8 leader it also skips the no-op at the start of its term, which otherwise hides the
   * bug almost entirely (the no-op is usually acknowledged together with the older entries).
   */
  readonly commitPreviousTermByCounting?: boolean;
  /**
   * The leader counts its own entries as replicated as soon as it appends them, while still
   * sending them before its own write is durable: a crash of the leader can then lose an entry
   * that was counted committed (and applied elsewhere).
   */
  readonly countSelfBeforePersist?: boolean;
  /** A node grants its vote to every candidate in a term, not just the first. */
  readonly grantVoteTwice?: boolean;
  /** forgetLeader() also forgets whom this node voted for in the term, so it can vote again. */
  readonly forgetLeaderClearsVote?: boolean;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** A follower campaigns after a random timeout in [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Injected PRNG in [0, 1); the core never calls Math.random(). */
  readonly random: () => number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** 'lease' answers reads from the leader's lease; only allowed with checkQuorum. */
  readonly readOnly: 'safe' | 'lease';
  readonly maxInflightMsgs: number;
  readonly maxEntriesBytesPerMsg: number;
  readonly maxUncommittedBytes: number;
  readonly snapshotChunkBytes: number;
  /**
   * false (etcd's behaviour): a leader tells followers of a new commit index at once, with an
   * append of no entries if none is going out. true: such commit-only appends wait; the commit
   * index rides on the next append, a heartbeat, or broadcastCommit(), which the driver calls a
   * little later (a membership change's commit, and the first of a term, still go out at once).
   * Under steady load the next append follows within a client round trip, so this saves a message
   * and a follower wake-up per write; the cost is that an idle follower applies a little later.
   */
  readonly deferCommitBroadcast?: boolean;
  readonly logger?: RaftLogger;
  readonly bugs?: RaftBugs;
}

export interface RaftInitialState {
  readonly hardState: HardState;
  readonly snapshotMeta: SnapshotMeta | null;
  /** The persisted snapshot's data, so a restarted leader can send it to lagging followers. */
  readonly snapshotData?: Uint8Array;
  /** Persisted entries after the snapshot. */
  readonly entries: readonly Entry[];
  /**
   * Membership when there is no snapshot: the initial static configuration of a founding member,
   * or no voters at all for a node that joins an existing cluster (it learns the rest from the log).
   */
  readonly conf: ConfState;
  /** Index the state machine already reflects (the snapshot's index after restoring it). */
  readonly applied?: number;
}

export type RefusalReason =
  | 'not-leader'
  | 'transferring'
  | 'uncommitted-limit'
  | 'conf-change-pending'
  | 'invalid-conf-change'
  | 'invalid-target'
  | 'no-leader';

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: RefusalReason; readonly leaderId: NodeId; readonly detail?: string };

export type RequestResult = { readonly ok: true } | { readonly ok: false; readonly reason: RefusalReason; readonly leaderId: NodeId };

export interface PeerStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly role: Role;
  readonly leaderId: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly conf: ConfState;
  /** Followers as the leader sees them; empty on other roles. */
  readonly progress: Readonly<Record<NodeId, PeerStatus>>;
  readonly leadTransferee: NodeId;
  readonly uncommittedBytes: number;
  readonly pendingReadIndex: number;
  /** The log was compacted but no snapshot data is held: call compact() so followers can catch up. */
  readonly snapshotNeeded: boolean;
}

type CampaignKind = 'pre' | 'election' | 'transfer';

/** Snapshot chunks sent ahead of the follower's acknowledgement. */
const SNAPSHOT_WINDOW_CHUNKS = 16;
/** Out-of-order snapshot chunks a follower keeps while waiting for the missing one. */
const SNAPSHOT_EARLY_CHUNKS_MAX = 64;
/** Heartbeat responses without snapshot progress before the unacknowledged chunks are resent. */
const SNAPSHOT_STALL_HEARTBEATS = 3;
/** How many Readys a leader may have on their way to disk at once (each is one fsync at most). */
const MAX_OUTSTANDING_READIES = 8;
const EMPTY_ENTRIES: readonly Entry[] = Object.freeze([]);
const EMPTY_DATA = new Uint8Array(0);
/** Vote context that tells voters to ignore their leader lease: a transfer the leader asked for. */
const TRANSFER_CONTEXT = new TextEncoder().encode('transfer');

function isTransfer(context: Uint8Array | null): boolean {
  return context !== null && contextKey(context) === 'transfer';
}

interface Outstanding {
  readonly hardState: HardState | undefined;
  /** For a synced write: the commit index durable once it is done (earlier unsynced writes included); else -1. */
  readonly commitWritten: number;
  /** Its messages and applies were handled when it was taken (Ready.sendBeforePersist). */
  readonly early: boolean;
  readonly committedEntries: readonly Entry[];
  readonly snapshotMeta: SnapshotMeta | null;
  /** The last entry (or snapshot) this Ready persists, which becomes stable at advance(). */
  readonly persistIndex: number;
  readonly persistTerm: number;
}

/** Snapshot chunks received so far from one leader in one term. */
interface SnapshotAssembly {
  readonly from: NodeId;
  readonly term: number;
  readonly meta: SnapshotMeta;
  readonly totalBytes: number;
  readonly chunks: Uint8Array[];
  received: number;
  /** Chunks that arrived ahead of a missing one (reordering), by offset. */
  readonly early: Map<number, SnapshotChunk>;
}

export class RaftNode {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly bugs: RaftBugs;

  private term = 0;
  private vote: NodeId = '';
  private role: Role = 'follower';
  private leaderId: NodeId = '';
  private readonly log: RaftLog;

  /** The applied configuration, and the index of the entry (or snapshot) it came from. */
  private conf: ConfState;
  private confIndex: number;
  /** Configurations since the last snapshot, for compact() to record the right one. */
  private confHistory: Array<{ index: number; conf: ConfState }>;
  private progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = '';
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;
  private readOnly = new ReadOnly();
  private pendingReadIndex: ReadRequest[] = [];

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private needBroadcast = false;
  private prevSoft: SoftState;
  private prevHard: HardState;
  /** Readys handed out and not yet advanced, oldest first (more than one only for a pipelining leader). */
  private outstanding: Outstanding[] = [];
  /** Term and vote as last made durable (advance() of a Ready carrying them, or loaded from disk). */
  private durableTerm = 0;
  private durableVote: NodeId = '';
  /** The commit index as last made durable by a synced write (commit-only writes are not synced). */
  private durableCommit = 0;

  /** The latest snapshot (ours or installed from the leader), kept to send to lagging followers. */
  private snapshot: Snapshot | null = null;
  /**
   * Whether the held snapshot's data went to a transfer: its chunks (views of it) may still sit
   * in a Progress or in messages not yet sent, so its owner must not free it.
   */
  private snapshotLent = false;
  private assembly: SnapshotAssembly | null = null;
  private snapshotNeeded = false;

  /** For the one-vote-per-term invariant. */
  private votedTerm = 0;
  private votedFor: NodeId = '';

  constructor(config: RaftConfig, initial: RaftInitialState) {
    assert(config.id !== '', 'node id must not be empty');
    assert(config.electionTicks > config.heartbeatTicks && config.heartbeatTicks > 0, 'electionTicks must exceed heartbeatTicks > 0');
    assert(config.readOnly === 'safe' || config.checkQuorum, "readOnly 'lease' requires checkQuorum");
    assert(config.maxInflightMsgs > 0 && config.maxEntriesBytesPerMsg > 0 && config.snapshotChunkBytes > 0);
    this.id = config.id;
    this.cfg = config;
    this.bugs = config.bugs ?? {};

    const hs = initial.hardState;
    let entries = initial.entries;
    let commit = hs.commit;
    let term = hs.term;
    const conf = initial.snapshotMeta ? initial.snapshotMeta.conf : initial.conf;
    // A founding member's first start: write its static membership into the log as entries 1..n of
    // term 1, identical on every founder (etcd's bootstrap), so that a node joining later and
    // replaying the log from index 1 learns the founders too.
    const fresh = !initial.snapshotMeta && entries.length === 0 && hs.term === 0 && hs.commit === 0;
    if (fresh && conf.voters.length > 0) {
      const founders = [...conf.voters].sort();
      entries = founders.map((nodeId, i) => ({
        term: 1,
        index: i + 1,
        type: EntryType.ConfChange,
        data: encodeConfChange({ type: 'addVoter', nodeId }),
      }));
      commit = entries.length;
      term = 1;
    }
    this.log = new RaftLog(initial.snapshotMeta, entries, commit, initial.applied ?? 0);
    if (fresh && entries.length > 0) {
      // The bootstrap entries are new: hand them to the driver to persist; applying them is a no-op.
      this.log.handed = 0;
      this.log.applied = entries.length;
      this.log.applying = entries.length;
    }
    this.term = term;
    this.vote = hs.vote;
    this.votedTerm = hs.term;
    this.votedFor = hs.vote;
    if (initial.snapshotMeta && initial.snapshotData) {
      this.snapshot = { meta: initial.snapshotMeta, data: initial.snapshotData };
    }
    this.conf = conf;
    this.confIndex = this.log.snapIndex;
    this.confHistory = [{ index: this.log.snapIndex, conf }];
    // Conf changes already applied by the state machine before this start take effect now.
    for (let i = this.log.snapIndex + 1; i <= this.log.applied; i++) {
      const e = this.log.entry(i)!;
      if (e.type === EntryType.ConfChange) this.applyConfEntry(e);
    }
    this.rebuildProgress();
    this.prevSoft = { leaderId: '', role: 'follower' };
    this.prevHard = fresh ? { term: 0, vote: '', commit: 0 } : { term: this.term, vote: this.vote, commit: this.log.committed };
    this.durableTerm = this.prevHard.term;
    this.durableVote = this.prevHard.vote;
    this.durableCommit = this.prevHard.commit;
    this.becomeFollower(this.term, '');
    this.invariants();
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
    this.invariants();
  }

  step(m: Message): void {
    if (m.to !== this.id) return;
    this.stepInner(m);
    this.invariants();
  }

  /**
   * etcd's ForgetLeader: a follower forgets its leader and stays a leaderless follower of the same
   * term. It then answers (pre)votes at once instead of honouring the leader's lease, so when a
   * quorum of followers have reason to think the leader is dead (the driver: its Raft port
   * refuses connections, so its process is gone) they can elect a new one without first waiting
   * out an election timeout each. Hearing from the leader again makes it an ordinary follower.
   * Returns false, doing nothing, on other roles and under lease reads (readOnly 'lease'), whose
   * safety rests on followers honouring the lease.
   */
  forgetLeader(): boolean {
    if (this.role !== 'follower' || this.leaderId === '' || this.cfg.readOnly === 'lease') return false;
    this.cfg.logger?.info?.('forgetting the leader', { id: this.id, term: this.term, leader: this.leaderId });
    this.leaderId = '';
    if (this.bugs.forgetLeaderClearsVote) {
      this.vote = '';
      this.votedFor = '';
    }
    this.invariants();
    return true;
  }

  /** Starts an election now (pre-vote first when enabled), if this node may lead. */
  campaign(): void {
    this.hup(this.cfg.preVote ? 'pre' : 'election');
    this.invariants();
  }

  propose(data: Uint8Array): ProposeResult {
    const refusal = this.proposalRefusal();
    if (refusal) return this.refuse(refusal);
    const result = this.appendProposal(EntryType.Normal, data);
    this.invariants();
    return result;
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    const refusal = this.proposalRefusal();
    if (refusal) return this.refuse(refusal);
    if (this.pendingConfIndex > this.log.applied || !this.committedEntryInCurrentTerm()) {
      return this.refuse('conf-change-pending');
    }
    const invalid = validateConfChange(this.conf, cc);
    if (invalid) return { ok: false, reason: 'invalid-conf-change', leaderId: this.leaderId, detail: invalid };
    const result = this.appendProposal(EntryType.ConfChange, encodeConfChange(cc));
    if (result.ok) this.pendingConfIndex = result.index;
    this.invariants();
    return result;
  }

  /**
   * Asks for a linearizable read point. On a leader it is served after a heartbeat round (safe) or
   * at once (lease); on a follower it is forwarded to the leader. The answer is a ReadState in a
   * later Ready; a request lost with a leader change is never answered (the driver times it out).
   */
  readIndex(context: Uint8Array): RequestResult {
    const request: ReadRequest = { from: this.id, context };
    if (this.role === 'leader') {
      this.leaderReadIndex(request);
    } else if (this.leaderId !== '') {
      this.send({ type: 'readIndex', to: this.leaderId, context });
    } else {
      return { ok: false, reason: 'no-leader', leaderId: '' };
    }
    this.invariants();
    return { ok: true };
  }

  transferLeadership(to: NodeId): RequestResult {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leaderId: this.leaderId };
    const pr = this.progress.get(to);
    if (!pr || pr.isLearner || !this.conf.voters.includes(to)) return { ok: false, reason: 'invalid-target', leaderId: this.id };
    if (this.leadTransferee !== '') {
      if (this.leadTransferee === to) return { ok: true };
      this.abortLeaderTransfer();
    }
    if (to === this.id) return { ok: true };
    // The transfer must finish within one election timeout or it is abandoned.
    this.electionElapsed = 0;
    this.leadTransferee = to;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to });
    else this.sendAppend(to, true);
    this.invariants();
    return { ok: true };
  }

  /**
   * The state machine was snapshotted at `index` (<= the last index handed out for applying):
   * keep the snapshot for lagging followers and drop the log up to it. Returns the snapshot,
   * which the driver persists (replacing entries <= index in storage).
   */
  compact(index: number, data: Uint8Array): Snapshot {
    assert(index <= this.log.applying, `compact(${index}) beyond the applied index ${this.log.applying}`);
    // Only persisted state may be compacted (e.g. not a fresh node's bootstrap entries before its
    // first Ready is written): the snapshot replaces entries in storage.
    assert(index <= this.log.handed, `compact(${index}) beyond the entries handed out for persistence (${this.log.handed})`);
    if (this.snapshot && index <= this.snapshot.meta.index) return this.snapshot;
    const term = this.log.term(index);
    assert(term !== undefined, `compact(${index}): entry already compacted`);
    const meta: SnapshotMeta = { index, term, conf: this.confAt(index) };
    this.snapshot = { meta, data };
    this.snapshotLent = false;
    this.snapshotNeeded = false;
    this.log.compact(index);
    let keep = 0;
    for (let i = 0; i < this.confHistory.length; i++) if (this.confHistory[i].index <= index) keep = i;
    this.confHistory = this.confHistory.slice(keep);
    this.invariants();
    return this.snapshot;
  }

  /**
   * The driver has the snapshot at `index` on disk: the core stops holding its data (at a million
   * keys that is tens of MB per node for a rare event). A follower that later needs a snapshot
   * raises snapshotNeeded() instead, and the driver answers with compact() on a fresh one.
   * Transfers already under way keep their own reference. Returns true when the data was dropped
   * and no transfer ever took it: the core then holds no view of it, and its owner may free it.
   */
  releaseSnapshotData(index: number): boolean {
    if (this.snapshot === null || this.snapshot.meta.index !== index) return false;
    this.snapshot = null;
    return !this.snapshotLent;
  }

  /** A lagging follower needs a snapshot and none is held: the driver should call compact(). */
  needsSnapshot(): boolean {
    return this.snapshotNeeded;
  }

  // ---------------------------------------------------------------- Ready

  /**
   * A leader whose term and vote are durable works ahead of its disk: its Readys may be taken
   * before earlier ones are advanced (up to a bound), their messages sent at once and their
   * committed entries (only durable ones) applied at once; see Ready.sendBeforePersist.
   */
  private leaderAheadOfDisk(): boolean {
    return this.role === 'leader' && this.term === this.durableTerm && this.vote === this.durableVote;
  }

  /** No Ready is outstanding, or we lead ahead of our disk with room for one more. */
  private mayTakeReady(ahead: boolean): boolean {
    return this.outstanding.length === 0 || (ahead && this.outstanding.length < MAX_OUTSTANDING_READIES);
  }

  hasReady(): boolean {
    const ahead = this.leaderAheadOfDisk();
    if (!this.mayTakeReady(ahead)) return false;
    this.flush();
    const hs = this.hardState();
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.log.hasUnhanded() ||
      this.log.unstableSnapshot !== null ||
      this.log.hasCommittedToApply(ahead ? this.log.stable : undefined) ||
      !sameHard(hs, this.prevHard) ||
      this.role !== this.prevSoft.role ||
      this.leaderId !== this.prevSoft.leaderId
    );
  }

  ready(): Ready {
    // A leader whose term and vote are already durable may send before its own write finishes:
    // its messages carry entries it does not yet count for itself (see RaftLog.stable), and the
    // committed entries it hands out are durable here already, so they may be applied at once.
    const ahead = this.leaderAheadOfDisk();
    assert(this.mayTakeReady(ahead), 'ready() called again before advance()');
    this.flush();
    const soft: SoftState = { leaderId: this.leaderId, role: this.role };
    const hard = this.hardState();
    // Except when its messages would tell followers of a committed membership change that our
    // own disk does not yet know is committed: see commitsConfChange.
    const confCommitNotDurable = this.commitsConfChange(this.durableCommit, hard.commit);
    // And once one Ready waits for its write, later ones wait too: their effects stay in order.
    const sendBeforePersist = ahead && !confCommitNotDurable && this.outstanding.every((o) => o.early);
    const snapshot = this.log.unstableSnapshot ?? undefined;
    this.log.unstableSnapshot = null;
    const entries = this.log.takeUnhanded();
    const committedEntries = this.log.takeCommitted(sendBeforePersist ? this.log.stable : undefined);
    const hardChanged = !sameHard(hard, this.prevHard);
    const rd: Ready = {
      softState: soft.role !== this.prevSoft.role || soft.leaderId !== this.prevSoft.leaderId ? soft : undefined,
      hardState: hardChanged ? hard : undefined,
      entries,
      snapshot,
      committedEntries,
      messages: this.msgs,
      readStates: this.readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hard.term !== this.prevHard.term ||
        hard.vote !== this.prevHard.vote ||
        confCommitNotDurable,
      sendBeforePersist,
    };
    this.msgs = [];
    this.readStates = [];
    this.prevSoft = soft;
    this.prevHard = hard;
    const lastPersisted = entries.length > 0 ? entries[entries.length - 1] : snapshot ? snapshot.meta : null;
    this.outstanding.push({
      hardState: hardChanged ? hard : undefined,
      commitWritten: rd.mustSync ? hard.commit : -1,
      early: sendBeforePersist,
      committedEntries,
      snapshotMeta: snapshot ? snapshot.meta : null,
      persistIndex: lastPersisted ? lastPersisted.index : 0,
      persistTerm: lastPersisted ? lastPersisted.term : 0,
    });
    return rd;
  }

  /**
   * Whether (from, to] holds a membership change. A leader makes the commit of one durable before
   * any message reveals it (that Ready is synced and sent after its write): otherwise it could
   * crash, restart not knowing the change committed and run with the old membership, needing the
   * vote of a member that has applied its own removal and holds a longer log (the leader's
   * entries go out before its own write), which it would never get: a cluster stuck for good.
   */
  private commitsConfChange(from: number, to: number): boolean {
    for (let i = Math.max(from, this.log.snapIndex) + 1; i <= to; i++) {
      if (this.log.entry(i)?.type === EntryType.ConfChange) return true;
    }
    return false;
  }

  /** The oldest outstanding Ready is persisted, sent and applied. Conf changes in it take effect now. */
  advance(): void {
    const done = this.outstanding.shift();
    assert(done !== undefined, 'advance() without ready()');
    if (done.hardState) {
      this.durableTerm = done.hardState.term;
      this.durableVote = done.hardState.vote;
    }
    if (done.commitWritten > this.durableCommit) this.durableCommit = done.commitWritten;
    const snap = done.snapshotMeta;
    if (snap && snap.index > this.confIndex) {
      this.conf = snap.conf;
      this.confIndex = snap.index;
      this.confHistory = [{ index: snap.index, conf: snap.conf }];
      this.switchToConfig();
    }
    let appliedBytes = 0;
    for (const e of done.committedEntries) {
      appliedBytes += e.data.length;
      if (e.type === EntryType.ConfChange && e.index > this.confIndex) {
        this.applyConfEntry(e);
        this.switchToConfig();
      }
    }
    const last = done.committedEntries.length > 0 ? done.committedEntries[done.committedEntries.length - 1].index : 0;
    this.log.applied = Math.max(this.log.applied, last, snap ? snap.index : 0);
    if (this.role === 'leader') this.uncommittedBytes = Math.max(0, this.uncommittedBytes - appliedBytes);
    if (done.persistIndex > 0) {
      this.log.stableTo(done.persistIndex, done.persistTerm);
      if (this.role === 'leader') this.selfPersisted();
    }
    this.invariants();
  }

  status(): RaftStatus {
    const progress: Record<NodeId, PeerStatus> = {};
    if (this.role === 'leader') {
      for (const [id, pr] of this.progress) {
        progress[id] = {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          inflight: pr.inflights.length(),
        };
      }
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leaderId: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.log.snapIndex,
      conf: this.conf,
      progress,
      leadTransferee: this.leadTransferee,
      uncommittedBytes: this.uncommittedBytes,
      pendingReadIndex: this.readOnly.size() + this.pendingReadIndex.length,
      snapshotNeeded: this.snapshotNeeded,
    };
  }

  /** Cheap accessors for hot paths (the simulator polls them every step). */
  currentTerm(): number {
    return this.term;
  }

  currentRole(): Role {
    return this.role;
  }

  commitIndex(): number {
    return this.log.committed;
  }

  /** Read-only view of the in-memory log, for tests and the simulator's checkers. */
  logView(): { readonly snapIndex: number; readonly snapTerm: number; readonly lastIndex: number; entry(i: number): Entry | undefined; term(i: number): number | undefined } {
    const log = this.log;
    return { snapIndex: log.snapIndex, snapTerm: log.snapTerm, lastIndex: log.lastIndex(), entry: (i) => log.entry(i), term: (i) => log.term(i) };
  }

  // ---------------------------------------------------------------- invariants

  /** Checked after every input; a failure is a bug in this file, so it crashes. */
  invariants(): void {
    // Runs after every input, in production too, so each check tests first and builds its message
    // only when it fails (a template literal per assert was 1% of a busy leader's CPU).
    const log = this.log;
    if (!(log.snapIndex <= log.applying)) assert.fail(`snapshot ${log.snapIndex} > applying ${log.applying}`);
    if (!(log.applied <= log.applying && log.applying <= log.committed)) assert.fail(`applied ${log.applied} <= applying ${log.applying} <= commit ${log.committed}`);
    if (!(log.committed <= log.lastIndex())) assert.fail(`commit ${log.committed} > last index ${log.lastIndex()}`);
    if (!(log.lastTerm() <= this.term)) assert.fail(`last log term ${log.lastTerm()} > current term ${this.term}`);
    if (this.vote !== '' && this.term === this.votedTerm && this.votedFor !== '' && !this.bugs.grantVoteTwice) {
      if (this.vote !== this.votedFor) assert.fail(`${this.id} voted twice in term ${this.term}`);
    }
    if (this.term > this.votedTerm || this.votedFor === '') {
      this.votedTerm = this.term;
      this.votedFor = this.vote;
    }
    if (this.role === 'leader') {
      if (this.leaderId !== this.id) assert.fail('a leader must know itself as leader');
      if (this.vote !== this.id) assert.fail('a leader voted for itself in its term');
      const self = this.progress.get(this.id);
      if (self && !this.bugs.countSelfBeforePersist && self.match !== log.stable) assert.fail(`leader's own match ${self.match} must equal its durable last index ${log.stable}`);
      for (const [id, pr] of this.progress) {
        if (!(pr.match <= log.lastIndex())) assert.fail(`${id} match ${pr.match} beyond leader last index ${log.lastIndex()}`);
        if (!(pr.next > pr.match)) assert.fail(`${id} next ${pr.next} <= match ${pr.match}`);
      }
    }
    if (this.role === 'candidate' && this.vote !== this.id) assert.fail('a candidate votes for itself');
  }

  // ---------------------------------------------------------------- the step function

  private stepInner(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // Leader stickiness: while we hear from a leader, (pre)votes from others are ignored.
        const inLease = this.cfg.checkQuorum && this.leaderId !== '' && this.electionElapsed < this.cfg.electionTicks;
        if (inLease && !isTransfer(m.context)) return;
      }
      if (m.type === 'preVote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // Granted pre-votes carry the future term the pre-candidate asked for.
      } else if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, '');
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
        // A stale leader (e.g. after a partition) learns our term from this and steps down.
        this.send({ type: 'appResp', to: m.from });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', to: m.from, reject: true });
      } else if (this.bugs.noPreVoteTermCheck && (m.type === 'voteResp' || m.type === 'preVoteResp')) {
        this.stepByRole(m); // the bug: a stale (pre)vote response still counts
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVoteRequest(m);
      return;
    }
    this.stepByRole(m);
  }

  private stepByRole(m: Message): void {
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'precandidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  private handleVoteRequest(m: Message): void {
    const respType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    const canVote =
      this.vote === m.from ||
      (this.vote === '' && this.leaderId === '') ||
      (m.type === 'preVote' && m.term > this.term) ||
      (this.bugs.grantVoteTwice === true && m.type === 'vote' && this.role === 'follower');
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send({ type: respType, to: m.from, term: m.term });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true });
    }
  }

  private stepLeader(m: Message): void {
    if (m.type === 'readIndex') {
      this.leaderReadIndex({ from: m.from, context: m.context ?? EMPTY_DATA });
      return;
    }
    const pr = this.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case 'appResp':
        this.handleAppendResponse(m, pr);
        break;
      case 'heartbeatResp':
        this.handleHeartbeatResponse(m, pr);
        break;
      case 'snapResp':
        if (pr.state === 'snapshot' && m.index === pr.pendingSnapshot) {
          pr.recentActive = true;
          if (m.reject) {
            // The follower lost its partial snapshot (restart, new term): start over.
            pr.snapshotOffset = m.rejectHint;
            pr.snapshotSent = m.rejectHint;
            this.sendSnapshotChunks(m.from, pr);
          } else if ((pr.snapshotReported = m.rejectHint) > pr.snapshotOffset) {
            // Progress: slide the window. Acks that do not move it (duplicates, or a gap after a
            // lost chunk) are ignored; the next heartbeat response resends from the last ack.
            pr.snapshotOffset = m.rejectHint;
            pr.snapshotSent = Math.max(pr.snapshotSent, m.rejectHint);
            pr.snapshotStallBeats = 0;
            this.sendSnapshotChunks(m.from, pr);
          }
        }
        break;
      default:
        break;
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      let nextProbeIndex = m.rejectHint;
      if (m.logTerm > 0) nextProbeIndex = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbeIndex)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state !== 'replicate'))) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot') {
      if (pr.match >= pr.pendingSnapshot || pr.match + 1 >= this.log.firstIndex()) {
        // The snapshot (or something newer) arrived; if the log was compacted past it since,
        // probing will start the next snapshot.
        pr.becomeProbe();
        if (pr.match + 1 >= this.log.firstIndex()) pr.becomeReplicate();
      }
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.onCommitAdvanced();
    } else if (wasPaused) {
      this.sendAppend(m.from, true);
    }
    while (m.from !== this.id && this.sendAppend(m.from, false)) {
      // Fill the inflight window as far as the log allows.
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeoutNow', to: m.from });
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.paused = false;
    if (pr.state === 'snapshot') {
      // No ack moved the window for a few heartbeat intervals: chunks (or their acks) were
      // lost, so resend from the last ack.
      if (++pr.snapshotStallBeats >= SNAPSHOT_STALL_HEARTBEATS) {
        pr.snapshotStallBeats = 0;
        // Go back to where the follower last said it was, which is below our ack offset when
        // it restarted its assembly and a stale ack had moved the offset.
        pr.snapshotOffset = Math.min(pr.snapshotOffset, pr.snapshotReported);
        pr.snapshotSent = pr.snapshotOffset;
        this.sendSnapshotChunks(m.from, pr);
      }
    } else if (pr.match < this.log.lastIndex() || pr.state === 'probe') {
      this.sendAppend(m.from, true);
    }
    if (this.cfg.readOnly !== 'safe' || m.context === null || m.context.length === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (!acks) return;
    if (jointVoteResult(this.conf.voters, this.conf.votersOutgoing, (id) => (acks.has(id) ? true : undefined)) !== 'won') return;
    for (const status of this.readOnly.advance(m.context)) this.answerRead(status.request, status.index);
  }

  private stepCandidate(m: Message): void {
    const myResponse = this.role === 'precandidate' ? 'preVoteResp' : 'voteResp';
    switch (m.type) {
      case 'app':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        break;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        break;
      case 'snap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshotChunk(m);
        break;
      case 'voteResp':
      case 'preVoteResp': {
        if (m.type !== myResponse && !this.bugs.noPreVoteTermCheck) return;
        const result = this.poll(m.from, !m.reject);
        if (result === 'won') {
          if (this.role === 'precandidate') this.campaign2('election');
          else this.becomeLeader();
        } else if (result === 'lost') {
          this.becomeFollower(this.term, '');
        }
        break;
      }
      default:
        break;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'app':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleAppend(m);
        break;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleHeartbeat(m);
        break;
      case 'snap':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleSnapshotChunk(m);
        break;
      case 'timeoutNow':
        this.hup('transfer');
        break;
      case 'readIndex':
        // Misrouted: pass it on to the leader we know, if any.
        if (this.leaderId !== '' && m.from !== this.leaderId) this.send({ type: 'readIndex', to: this.leaderId, context: m.context });
        break;
      case 'readIndexResp':
        if (m.context) this.readStates.push({ index: m.index, context: m.context });
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ type: 'appResp', to: m.from, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      this.send({ type: 'appResp', to: m.from, index: lastNew });
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({ type: 'appResp', to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit);
    this.send({ type: 'heartbeatResp', to: m.from, context: m.context });
  }

  private handleSnapshotChunk(m: Message): void {
    const chunk = m.snapshot;
    if (!chunk) return;
    const { meta } = chunk;
    if (meta.index <= this.log.committed) {
      // We already have everything it holds: tell the leader where we are.
      this.assembly = null;
      this.send({ type: 'appResp', to: m.from, index: this.log.committed });
      return;
    }
    let a = this.assembly;
    const matches = a !== null && a.from === m.from && a.term === this.term && a.meta.index === meta.index && a.meta.term === meta.term;
    if (!matches) {
      a = { from: m.from, term: this.term, meta, totalBytes: chunk.totalBytes, chunks: [], received: 0, early: new Map() };
      this.assembly = a;
      if (chunk.offset !== 0) {
        // We hold nothing of it (restart, or a chunk overtook the first): ask for it from the start.
        this.send({ type: 'snapResp', to: m.from, index: meta.index, reject: true, rejectHint: 0 });
      }
    }
    a = a!;
    if (chunk.offset > a.received && a.early.size < SNAPSHOT_EARLY_CHUNKS_MAX) a.early.set(chunk.offset, chunk);
    if (chunk.offset !== a.received) {
      // A duplicate, or one that overtook an earlier chunk: say where we are.
      this.send({ type: 'snapResp', to: m.from, index: meta.index, rejectHint: a.received });
      return;
    }
    let next: SnapshotChunk | undefined = chunk;
    let done = false;
    while (next) {
      a.early.delete(next.offset);
      a.chunks.push(next.data);
      a.received += next.data.length;
      assert(a.received <= a.totalBytes, 'snapshot chunk beyond its announced size');
      done = next.done;
      next = done ? undefined : a.early.get(a.received);
    }
    if (!done) {
      this.send({ type: 'snapResp', to: m.from, index: meta.index, rejectHint: a.received });
      return;
    }
    assert.equal(a.received, a.totalBytes, 'snapshot ended short of its announced size');
    const data = new Uint8Array(a.totalBytes);
    let offset = 0;
    for (const c of a.chunks) {
      data.set(c, offset);
      offset += c.length;
    }
    this.assembly = null;
    if (this.restore({ meta, data })) {
      this.send({ type: 'appResp', to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: 'appResp', to: m.from, index: this.log.committed });
    }
  }

  /** Installs a complete snapshot from the leader; false when it brings nothing new. */
  private restore(snapshot: Snapshot): boolean {
    const { index, term } = snapshot.meta;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // Our log already holds it: just commit up to it.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.snapshot = snapshot;
    this.snapshotLent = false;
    // Its configuration takes effect when the driver has installed it (advance), like any conf change.
    return true;
  }

  // ---------------------------------------------------------------- leader helpers

  private proposalRefusal(): RefusalReason | null {
    if (this.role !== 'leader') return 'not-leader';
    if (this.leadTransferee !== '' || !this.promotable()) return 'transferring';
    return null;
  }

  private refuse(reason: RefusalReason): ProposeResult {
    return { ok: false, reason, leaderId: this.role === 'leader' ? this.id : this.leaderId };
  }

  private appendProposal(type: EntryType, data: Uint8Array): ProposeResult {
    const bytes = data.length;
    if (this.uncommittedBytes > 0 && bytes > 0 && this.uncommittedBytes + bytes > this.cfg.maxUncommittedBytes) {
      return this.refuse('uncommitted-limit');
    }
    this.uncommittedBytes += bytes;
    const index = this.log.lastIndex() + 1;
    this.log.append([{ term: this.term, index, type, data }]);
    this.selfAppended();
    return { ok: true, index, term: this.term };
  }

  /** New entries of ours go out to followers; our own copy counts once it is durable (selfPersisted). */
  private selfAppended(): void {
    this.needBroadcast = true;
    if (this.bugs.countSelfBeforePersist) {
      const self = this.progress.get(this.id);
      if (self && self.maybeUpdate(this.log.lastIndex()) && this.maybeCommit()) this.onCommitAdvanced();
    }
  }

  /** Our log is durable up to log.stable: count our own copy, which may commit. */
  private selfPersisted(): void {
    const self = this.progress.get(this.id);
    if (self && self.maybeUpdate(this.log.stable) && this.maybeCommit()) this.onCommitAdvanced();
  }

  private maybeCommit(): boolean {
    const matchOf = (id: NodeId) => this.progress.get(id)?.match ?? 0;
    const index = jointCommitted(this.conf.voters, this.conf.votersOutgoing, matchOf);
    if (index === Number.MAX_SAFE_INTEGER) return false;
    if (this.bugs.commitPreviousTermByCounting) {
      if (index > this.log.committed && index <= this.log.lastIndex()) {
        this.log.commitTo(index);
        return true;
      }
      return false;
    }
    return this.log.maybeCommit(index, this.term);
  }

  private onCommitAdvanced(): void {
    this.needBroadcast = true;
    if (this.pendingReadIndex.length > 0 && this.committedEntryInCurrentTerm()) {
      const waiting = this.pendingReadIndex;
      this.pendingReadIndex = [];
      for (const request of waiting) this.serveReadIndex(request);
    }
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private leaderReadIndex(request: ReadRequest): void {
    // Until an entry of this term commits, our commit index may be behind the previous leader's
    // (or, alone, behind what we committed before a crash: the commit index is written unsynced).
    if (!this.committedEntryInCurrentTerm()) {
      this.pendingReadIndex.push(request);
      return;
    }
    this.serveReadIndex(request);
  }

  private serveReadIndex(request: ReadRequest): void {
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id && this.conf.votersOutgoing.length === 0) {
      this.answerRead(request, this.log.committed);
      return;
    }
    if (this.cfg.readOnly === 'lease' && this.promotable()) {
      this.answerRead(request, this.log.committed);
      return;
    }
    this.readOnly.addRequest(this.log.committed, request);
    this.readOnly.recvAck(this.id, request.context);
    this.bcastHeartbeat(request.context);
  }

  private answerRead(request: ReadRequest, index: number): void {
    if (request.from === this.id) this.readStates.push({ index, context: request.context });
    else this.send({ type: 'readIndexResp', to: request.from, index, context: request.context });
  }

  /**
   * Sends appends to every follower with something new (entries, or the commit index unless
   * deferCommitBroadcast holds it back); batched per Ready.
   */
  private flush(): void {
    if (!this.needBroadcast) return;
    this.needBroadcast = false;
    if (this.role !== 'leader') return;
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.sendAppend(id, pr.sentCommit < this.log.committed && (!this.cfg.deferCommitBroadcast || this.commitIsUrgent(pr)));
      while (this.sendAppend(id, false)) {
        // keep filling the window
      }
    }
  }

  /**
   * Whether the commit not yet sent to `pr` covers the last membership change (or our term's
   * no-op): that goes out at once even when commit broadcasts are deferred, because a removed
   * node learns of its removal only from it, and the leader stops sending to it once it applies it.
   */
  private commitIsUrgent(pr: Progress): boolean {
    return pr.sentCommit < this.pendingConfIndex && this.pendingConfIndex <= this.log.committed;
  }

  /**
   * Leader, deferCommitBroadcast: whether a follower we are sending to has not been told the
   * commit index yet. The driver then calls broadcastCommit() after a short delay. Always false
   * without deferCommitBroadcast: flush() has sent the commit index already.
   */
  commitBroadcastPending(): boolean {
    if (this.role !== 'leader' || !this.cfg.deferCommitBroadcast) return false;
    for (const [id, pr] of this.progress) {
      if (id !== this.id && pr.sentCommit < this.log.committed && !pr.isPaused()) return true;
    }
    return false;
  }

  /**
   * Leader: sends the commit index, with an append (of entries, if any are due), to every follower
   * not yet told of commits up to `upTo` (default: all of them). Messages come out in the next Ready.
   */
  broadcastCommit(upTo: number = this.log.committed): void {
    if (this.role !== 'leader') return;
    for (const [id, pr] of this.progress) {
      if (id === this.id || pr.sentCommit >= Math.min(upTo, this.log.committed)) continue;
      this.sendAppend(id, true);
    }
  }

  /** The commit index (leader or follower). */
  committedIndex(): number {
    return this.log.committed;
  }

  /** Sends one append (or a snapshot chunk) to `to`; returns whether anything was sent. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) return this.startSnapshot(to, pr);
    let entries: readonly Entry[] = EMPTY_ENTRIES;
    if (pr.state !== 'replicate' || !pr.inflights.full()) entries = pr.next <= this.log.lastIndex() ? this.log.entriesFrom(pr.next, this.cfg.maxEntriesBytesPerMsg) : EMPTY_ENTRIES;
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'app', to, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    pr.sentEntries(entries.length, entries.length > 0 ? entries[entries.length - 1].index : prevIndex);
    pr.sentCommit = Math.max(pr.sentCommit, this.log.committed);
    return true;
  }

  private startSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    if (!this.snapshot || this.snapshot.meta.index < this.log.snapIndex) {
      // Said once per request: the driver may take a while to encode one, and asks are repeated.
      if (!this.snapshotNeeded) this.cfg.logger?.info?.('a follower needs a snapshot and none is held: asking the driver for one', { to });
      this.snapshotNeeded = true;
      return false;
    }
    this.snapshotLent = true;
    pr.becomeSnapshot(this.snapshot);
    this.sendSnapshotChunks(to, pr);
    return true;
  }

  /** Sends chunks from pr.snapshotSent on, keeping at most SNAPSHOT_WINDOW_CHUNKS unacknowledged. */
  private sendSnapshotChunks(to: NodeId, pr: Progress): void {
    const snapshot = pr.snapshot!;
    const total = snapshot.data.length;
    const chunkBytes = this.cfg.snapshotChunkBytes;
    if (total === 0) {
      this.send({ type: 'snap', to, snapshot: { meta: snapshot.meta, offset: 0, totalBytes: 0, data: snapshot.data, done: true } });
      return;
    }
    while (pr.snapshotSent < total && pr.snapshotSent - pr.snapshotOffset < chunkBytes * SNAPSHOT_WINDOW_CHUNKS) {
      const offset = pr.snapshotSent;
      const end = Math.min(total, offset + chunkBytes);
      this.send({
        type: 'snap',
        to,
        snapshot: { meta: snapshot.meta, offset, totalBytes: total, data: snapshot.data.subarray(offset, end), done: end === total },
      });
      pr.snapshotSent = end;
    }
  }

  private bcastHeartbeat(context: Uint8Array | null): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.send({ type: 'heartbeat', to: id, commit: Math.min(pr.match, this.log.committed), context });
    }
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = '';
  }

  /**
   * A leader whose removal is applied does not simply step down: its log may be the longest, and
   * a remaining voter that has not learned the removal committed still counts it as a voter and
   * needs its vote, which it would refuse (deadlock). So it keeps leading, without counting itself
   * and refusing proposals, and transfers leadership to the most caught-up remaining voter; it
   * becomes a follower when that voter's election (a higher term) reaches it.
   */
  private handOffAfterRemoval(): void {
    let best: NodeId = '';
    let bestMatch = -1;
    for (const id of [...this.conf.voters].sort()) {
      const pr = this.progress.get(id);
      if (id !== this.id && pr && pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    if (best === '') {
      this.becomeFollower(this.term, '');
      return;
    }
    this.cfg.logger?.info?.('removed from the configuration: handing leadership over', { id: this.id, to: best, term: this.term });
    this.electionElapsed = 0;
    this.leadTransferee = best;
    if (bestMatch === this.log.lastIndex()) this.send({ type: 'timeoutNow', to: best });
    else this.sendAppend(best, true);
  }

  // ---------------------------------------------------------------- ticks and elections

  private tickElection(): void {
    this.electionElapsed++;
    if (this.mayCampaign() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(this.cfg.preVote ? 'pre' : 'election');
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.checkQuorum();
      if (this.role === 'leader' && this.leadTransferee !== '') {
        this.abortLeaderTransfer();
        if (!this.promotable()) this.handOffAfterRemoval();
      }
    }
    if (this.role !== 'leader') return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastPendingContext());
    }
  }

  /** A leader that has not heard from a quorum for an election timeout steps down. */
  private checkQuorum(): void {
    const active = (id: NodeId) => (id === this.id || this.progress.get(id)?.recentActive === true ? true : undefined);
    // A removed leader handing off (see handOffAfterRemoval) keeps leading until a successor
    // appears: it is the only node that can tell the others that its removal committed.
    if (jointVoteResult(this.conf.voters, this.conf.votersOutgoing, active) !== 'won' && this.promotable()) {
      this.cfg.logger?.info?.('stepping down: no quorum heard from in an election timeout', { id: this.id, term: this.term });
      this.becomeFollower(this.term, '');
      return;
    }
    for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
  }

  private promotable(): boolean {
    return this.conf.voters.includes(this.id) || this.conf.votersOutgoing.includes(this.id);
  }

  /**
   * A node that has applied its own removal still campaigns, by the votes of the voters alone,
   * only to hand leadership over (becomeLeader -> handOffAfterRemoval). Its log may be the only
   * copy of an entry a remaining voter lacks: after a hand-off whose successor crashed before its
   * own no-op was durable, that voter still counts us (it has not learned our removal committed)
   * and we refuse its votes (our log is longer); were we never to campaign, no one could lead
   * again (sim seed 13079634). Safe: its votes come from a majority of a committed configuration,
   * each granted to an up-to-date log, as for any candidate. Quiet while the cluster has a
   * leader: its voters, in their lease, ignore our pre-votes.
   */
  private removedHoldingLog(): boolean {
    return this.conf.voters.length > 0 && !this.conf.learners.includes(this.id) && !this.promotable() && this.log.lastIndex() > 0;
  }

  /** A voter, or a removed node that may have to hand over (removedHoldingLog). */
  private mayCampaign(): boolean {
    return this.promotable() || this.removedHoldingLog();
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    return this.log.unappliedCommitted().some((e) => e.type === EntryType.ConfChange);
  }

  private hup(kind: CampaignKind): void {
    if (this.role === 'leader' || !this.mayCampaign() || this.hasUnappliedConfChanges()) return;
    this.campaign2(kind);
  }

  private campaign2(kind: CampaignKind): void {
    let term: number;
    let type: 'vote' | 'preVote';
    if (kind === 'pre') {
      this.becomePreCandidate();
      type = 'preVote';
      term = this.term + 1; // asked for before our term moves
    } else {
      this.becomeCandidate();
      type = 'vote';
      term = this.term;
    }
    const voters = [...new Set([...this.conf.voters, ...this.conf.votersOutgoing])];
    if (voters.includes(this.id)) {
      const result = this.poll(this.id, true);
      if (result === 'won') {
        if (kind === 'pre') this.campaign2('election');
        else this.becomeLeader();
        return;
      }
    }
    for (const id of voters) {
      if (id === this.id) continue;
      this.send({
        type,
        to: id,
        term,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        context: kind === 'transfer' ? TRANSFER_CONTEXT : null,
      });
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return jointVoteResult(this.conf.voters, this.conf.votersOutgoing, (v) => this.votes.get(v));
  }

  // ---------------------------------------------------------------- role transitions

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = '';
    }
    this.leaderId = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTicks + Math.floor(this.cfg.random() * this.cfg.electionTicks);
    this.abortLeaderTransfer();
    this.votes.clear();
    const lastIndex = this.log.lastIndex();
    for (const [id, pr] of this.progress) {
      const fresh = new Progress(lastIndex + 1, this.cfg.maxInflightMsgs, pr.isLearner);
      if (id === this.id) fresh.match = this.log.stable;
      this.progress.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndex = [];
    this.needBroadcast = false;
  }

  private becomeFollower(term: number, leaderId: NodeId): void {
    this.reset(term);
    this.role = 'follower';
    this.leaderId = leaderId;
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become pre-candidate');
    this.votes.clear();
    this.role = 'precandidate';
    this.leaderId = '';
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate' || this.bugs.noPreVoteTermCheck, `${this.role} cannot become leader`);
    this.reset(this.term);
    this.role = 'leader';
    this.leaderId = this.id;
    const self = this.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    this.cfg.logger?.info?.('became leader', { id: this.id, term: this.term });
    // The no-op of our term: committing it commits everything before it (5.4.2), and until it
    // commits we neither serve ReadIndex nor accept a conf change.
    const index = this.log.lastIndex() + 1;
    this.pendingConfIndex = index;
    if (this.bugs.commitPreviousTermByCounting) {
      this.needBroadcast = true;
    } else {
      this.log.append([{ term: this.term, index, type: EntryType.Normal, data: EMPTY_DATA }]);
      this.selfAppended();
    }
    // Elected although removed (removedHoldingLog): lead only to hand over.
    if (!this.promotable()) this.handOffAfterRemoval();
  }

  // ---------------------------------------------------------------- configuration

  private applyConfEntry(e: Entry): void {
    this.conf = applyConfChange(this.conf, decodeConfChange(e.data));
    this.confIndex = e.index;
    this.confHistory.push({ index: e.index, conf: this.conf });
  }

  /** Configuration in effect once everything up to `index` is applied. */
  private confAt(index: number): ConfState {
    let conf = this.confHistory[0].conf;
    for (const h of this.confHistory) if (h.index <= index) conf = h.conf;
    for (let i = this.log.applied + 1; i <= index; i++) {
      const e = this.log.entry(i);
      if (e && e.type === EntryType.ConfChange && i > this.confIndex) conf = applyConfChange(conf, decodeConfChange(e.data));
    }
    return conf;
  }

  private rebuildProgress(): void {
    const members = confMembers(this.conf);
    const next = new Map<NodeId, Progress>();
    const lastIndex = this.log.lastIndex();
    for (const id of members) {
      const isLearner = this.conf.learners.includes(id);
      let pr = this.progress.get(id);
      if (pr) {
        pr.isLearner = isLearner;
      } else {
        pr = new Progress(lastIndex + 1, this.cfg.maxInflightMsgs, isLearner);
        if (id === this.id) pr.match = this.log.stable;
      }
      next.set(id, pr);
    }
    this.progress = next;
  }

  private switchToConfig(): void {
    this.rebuildProgress();
    if (this.role !== 'leader') return;
    const self = this.progress.get(this.id);
    if (!self || self.isLearner) {
      this.handOffAfterRemoval();
      if (this.role !== 'leader') return;
    }
    if (this.maybeCommit()) this.onCommitAdvanced();
    this.needBroadcast = true;
    if (this.leadTransferee !== '' && !this.conf.voters.includes(this.leadTransferee)) this.abortLeaderTransfer();
  }

  // ---------------------------------------------------------------- plumbing

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private send(m: Partial<Message> & Pick<Message, 'type' | 'to'>): void {
    this.msgs.push({
      type: m.type,
      from: this.id,
      to: m.to,
      term: m.term ?? this.term,
      logTerm: m.logTerm ?? 0,
      index: m.index ?? 0,
      entries: m.entries ?? EMPTY_ENTRIES,
      commit: m.commit ?? 0,
      reject: m.reject ?? false,
      rejectHint: m.rejectHint ?? 0,
      context: m.context ?? null,
      snapshot: m.snapshot ?? null,
    });
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
