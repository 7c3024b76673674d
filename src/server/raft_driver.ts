// The Raft driver: the only place where consensus meets time, disk and sockets.
//
// It runs etcd's loop at its own pace: tick on a timer; whenever the core has a Ready, persist it
// with one synced write (so every command that arrived meanwhile shares one fsync: group commit;
// a leader sends its appends before that write, so its fsync and its followers' overlap),
// send its messages, apply its committed entries to the state machine, answer the clients waiting
// on them, serve the reads whose ReadIndex is now applied, and advance. Proposals that arrive while
// a write is on disk wait in the core and go out together in the next batch.
//
// Outcomes are reported honestly: a write is acknowledged only once applied; a write whose entry
// was overwritten by another leader did not happen (CLUSTERDOWN ... did not happen); a write whose
// leader was lost before commit and whose fate is still open after a grace period is reported as
// unknown (UNCERTAIN), never as failed.

import { ErrorReply, SimpleString, type Reply } from '../resp/reply';
import type { SnapshotInProgress, StateMachine } from '../locks/state_machine';
import { freeSnapshotBuffer } from '../locks/snapshot';
import type { LogCommand } from '../locks/types';
import { RaftNode } from '../raft/raft_node';
import { EntryType, type Entry, type Ready, type Snapshot, type SoftState } from '../raft/types';
import { RaftStorage } from '../raft/storage/raft_storage';
import { electionTimeoutMs, type ServerConfig } from './config';
import { decodeLogCommand, encodeLogCommand } from './log_codec';
import type { Logger } from './log';
import type { Member, NodeStatus, ReplicatedNode } from './server_api';
import { createHash, randomInt } from 'node:crypto';
import { ClusterLink } from './cluster_link';
import { WriteWaiter, WriteWaiters } from './write_waiters';
import type { ReplyOrLater } from './pending_reply';
import { decodeConfChange } from '../raft/confchange';
import type { ConfChange, Message, NodeId } from '../raft/types';
import * as path from 'node:path';

interface PendingRead {
  /** The last index proposed when the read arrived: the read must see every write before it. */
  readonly minIndex: number;
  readonly db: number;
  readonly argv: string[];
  readonly resolve: (reply: Reply) => void;
}

type SnapshotReason = 'log compaction' | 'a follower needs one';

/** Keys a snapshot encodes per turn of the event loop (~4 ms of work at 1M locks). */
const SNAPSHOT_SLICE_KEYS = 8192;
/** How many times a follower that found its leader gone campaigns, one --fast-failover-ms round apart, before leaving it to the election timeout. */
const FAST_FAILOVER_ROUNDS = 3;
/** A leader's write of at most this many entries, alone in flight, is made on the event loop (light load: one client's writes are single entries). */
const LEADER_BLOCKING_ENTRIES_MAX = 2;

/** The db number a forwarded admin command carries, so the leader runs it as admin, not as data. */
const ADMIN_DB = -1;

export const Outcome = {
  noLeader: (leaderHint: string) =>
    new ErrorReply(
      `CLUSTERDOWN no Raft leader is known${leaderHint ? ` (last seen: ${leaderHint})` : ''}; the command was not executed, retry after an election`,
    ),
  overwritten: new ErrorReply('CLUSTERDOWN leadership changed before the write was committed; the write did not happen, retry it'),
  uncertain: new ErrorReply(
    'UNCERTAIN leadership was lost after the write was proposed; it may or may not have been applied: read the key to find out before retrying',
  ),
  shuttingDown: new ErrorReply('CLUSTERDOWN the node is shutting down; the command was not executed'),
  stoppedAfterProposal: new ErrorReply(
    'UNCERTAIN the node shut down after the write was proposed; the other nodes may still apply it: read the key to find out before retrying',
  ),
  tooManyPending: new ErrorReply('TRYAGAIN too many writes are waiting for the Raft log; retry shortly'),
  readUnconfirmed: new ErrorReply(
    'TRYAGAIN the leader did not confirm the read in time (leadership changed or the request was lost); nothing was read, retry it',
  ),
} as const;

export interface RaftDriverOptions {
  readonly config: ServerConfig;
  readonly stateMachine: StateMachine;
  readonly logger: Logger;
  /** Told when the known leader changes (Sentinel's +switch-master). Addresses are '' when unknown. */
  readonly onLeaderChange?: (oldAddress: string, newAddress: string) => void;
  /** The node must stop: it can no longer take part safely (e.g. its data dir was wiped). */
  readonly onFatal?: (message: string) => void;
  /** Sentinel master names asked about here, and those the peers were asked about (see ClusterLink's hello). */
  readonly sentinelNames?: () => readonly string[];
  readonly onSentinelNames?: (names: readonly string[]) => void;
}

export class RaftDriver implements ReplicatedNode {
  private readonly config: ServerConfig;
  private readonly sm: StateMachine;
  private readonly logger: Logger;
  private storage!: RaftStorage;
  private node!: RaftNode;
  /** Peer traffic (Raft, hellos, forwarded writes); null for a single node without --peers. */
  private link: ClusterLink | null = null;
  /** nodeId -> Raft address of every member we know, from --peers and from applied conf changes. */
  private readonly raftAddresses = new Map<string, string>();
  private readonly onLeaderChange: (oldAddress: string, newAddress: string) => void;
  private readonly onFatal: (message: string) => void;
  private readonly sentinelNames: () => readonly string[];
  private readonly onSentinelNames: (names: readonly string[]) => void;
  /** This data dir's identity: when it was created. A wiped dir gets a new one. */
  private incarnation = '';
  /** Member incarnations this leader has proposed and not yet seen applied. */
  private readonly incarnationsProposed = new Set<string>();
  /** The term of the last 'leader' entry of ours applied here: once it equals our term, we lead with everything applied. */
  private leaderEntryAppliedTerm = -1;

  private readonly waiters = new WriteWaiters();
  private readonly conditionWaiters = new Set<() => void>();
  /** Reads waiting for their ReadIndex, by request context, with when it was asked (performance.now()). */
  private readonly readBatches = new Map<string, { readonly reads: PendingRead[]; readonly askedAt: number }>();
  private readonly readsAwaitingApply: Array<{ index: number; reads: PendingRead[] }> = [];
  private nextReadBatch: PendingRead[] = [];
  private readContextSeq = 0;

  private tickTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private commitBroadcastTimer: NodeJS.Timeout | null = null;
  /** A campaign scheduled because the leader's process is gone (see onPeerPortClosed), or at boot (onPeerConnected). */
  private leaderGoneTimer: NodeJS.Timeout | null = null;
  /** Until this node first knows a leader after it starts: the voters that accepted our connection (see onPeerConnected). */
  private bootPeersUp: Set<NodeId> | null = null;
  private processScheduled = false;
  /** Readys taken and not yet advanced, oldest first; `persisted` once their write is done. */
  private readonly pipeline: Array<{ readonly ready: Ready; persisted: boolean }> = [];
  /** What INFO raft reports about batching and write latency. */
  private readonly counters = { entriesPersisted: 0, appendMessagesSent: 0, entriesInAppends: 0, writesApplied: 0, writeMicrosTotal: 0 };
  /** The latest write issued (writes complete in issue order): stop() waits for it. */
  private lastWrite: Promise<void> = Promise.resolve();
  private readScheduled = false;
  private stopped = false;
  /** Set by stop(): new commands are refused while the ones in flight finish. */
  private draining = false;

  /** nodeId -> host:port where that member serves clients (learned from its hello messages). */
  protected readonly clientAddresses = new Map<string, string>();
  /** The last leader this node knew of, for +switch-master's old address. */
  private lastLeaderId = '';
  private softState: SoftState = { leaderId: '', role: 'follower' };
  private appliedIndex = 0;
  private lastTimestampMs = 0;
  private sweepInFlight = false;
  private lastSnapshotIndex = 0;
  /**
   * --snapshot-entries stretched by up to 25% by a hash of the node id. Every replica applies the
   * same entries, so with one threshold they would all snapshot at once; a snapshot costs CPU
   * (0.5-1.5 s of it at a million keys here), now spread over many turns of the event loop (see below),
   * but still better not taken by every node in the same second.
   */
  private readonly snapshotThreshold: number;
  /** --snapshot-entries-min, stretched alike: the earliest a snapshot is taken (see maybeSnapshot). */
  private readonly snapshotThresholdMin: number;
  /** Bytes of entry data applied since the index of the last snapshot, and that snapshot's size. */
  private logBytesSinceSnapshot = 0;
  private lastSnapshotBytes = 0;
  /** The snapshot write in progress, awaited by stop() before the storage closes. */
  private snapshotSaving: Promise<void> = Promise.resolve();
  /**
   * A snapshot being encoded SNAPSHOT_SLICE_KEYS keys per turn of the event loop, entries
   * being applied in between (the state machine copies a hash slot before a write changes it).
   * Encoded in one go, it paused every client and the node's heartbeats for 0.5-1.5 s at a million
   * keys, and a leader paused past an election timeout was replaced (the benchmark's 1M-lock load).
   */
  private snapshotEncoding: { job: SnapshotInProgress; startedMs: number; reason: SnapshotReason } | null = null;

  constructor(options: RaftDriverOptions) {
    this.config = options.config;
    this.sm = options.stateMachine;
    this.logger = options.logger;
    this.onLeaderChange = options.onLeaderChange ?? (() => undefined);
    this.onFatal = options.onFatal ?? ((message) => this.logger.error(message));
    this.sentinelNames = options.sentinelNames ?? (() => []);
    this.onSentinelNames = options.onSentinelNames ?? (() => undefined);
    const spread = createHash('sha1').update(this.config.nodeId).digest().readUInt32BE(0) / 2 ** 32;
    this.snapshotThreshold = Math.round(this.config.snapshotEntries * (1 + 0.25 * spread));
    this.snapshotThresholdMin = Math.min(this.snapshotThreshold, Math.round(this.config.snapshotEntriesMin * (1 + 0.25 * spread)));
  }

  async start(): Promise<void> {
    const { config } = this;
    const storageDir = path.join(config.dataDir, 'raft');
    this.storage = await RaftStorage.open(
      storageDir,
      { nodeId: config.nodeId, clusterId: this.clusterId() },
      { logger: this.logger, unsafeNoFsync: config.testUnsafeNoFsync },
    );
    if (config.testUnsafeNoFsync) {
      this.logger.warn('the raft log is never synced (--test-unsafe-no-fsync): a kernel crash or power loss can lose acknowledged writes', {
        hint: 'for measuring what the disk costs only; restart without the flag to keep data safe',
      });
    }
    const loaded = this.storage.loaded();
    // The core and the state machine take what they need below; the storage need not keep it all.
    this.storage.releaseLoaded();
    this.incarnation = String(loaded.meta.createdAtMs);
    if (loaded.snapshot) this.restoreSnapshot(loaded.snapshot);
    // A joining node starts with no voters: it learns the membership from the leader's log.
    const voters = config.join ? [] : config.peers.length > 0 ? config.peers.map((p) => p.nodeId) : [config.nodeId];
    this.node = new RaftNode(
      {
        id: config.nodeId,
        electionTicks: config.electionTicks,
        heartbeatTicks: config.heartbeatTicks,
        random: () => randomInt(0, 2 ** 31) / 2 ** 31,
        preVote: true,
        checkQuorum: true,
        readOnly: 'safe',
        maxInflightMsgs: 256,
        maxEntriesBytesPerMsg: 1024 * 1024,
        maxUncommittedBytes: 64 * 1024 * 1024,
        snapshotChunkBytes: 1024 * 1024,
        deferCommitBroadcast: config.commitBroadcastDelayMs > 0,
      },
      {
        hardState: loaded.hardState,
        snapshotMeta: loaded.snapshot ? loaded.snapshot.meta : null,
        // Not handed to the core: it is on disk, and a follower that needs one gets a fresh one (below).
        snapshotData: undefined,
        entries: loaded.entries,
        conf: loaded.snapshot ? loaded.snapshot.meta.conf : { voters, learners: [], votersOutgoing: [] },
        applied: this.appliedIndex,
      },
    );
    this.logger.info('raft storage loaded', {
      dir: storageDir,
      entries: loaded.entries.length,
      snapshotIndex: this.lastSnapshotIndex,
      term: loaded.hardState.term,
      commit: loaded.hardState.commit,
    });
    if (config.peers.length > 0) {
      this.bootPeersUp = new Set();
      for (const peer of config.peers) this.raftAddresses.set(peer.nodeId, peer.raftAddress);
      this.link = new ClusterLink({
        nodeId: config.nodeId,
        clusterId: this.clusterId(),
        listenHost: config.raftHost,
        // Peers dial the address --peers gives for this node, so that is where we listen.
        listenPort: Number(this.raftAddresses.get(config.nodeId)!.split(':').pop()),
        peers: this.raftAddresses,
        logger: this.logger.child({ component: 'transport' }),
        helloIntervalMs: Math.max(200, config.tickMs * config.electionTicks),
        forwardTimeoutMs: 10_000,
        clockMs: () => this.clockMs(),
        onRaftMessage: (message: Message) => {
          if (this.stopped) return;
          // An acknowledgement that commits entries is acted on now (apply, reply, send the new
          // commit index) rather than in the check phase, after every other socket this poll
          // phase has ready (under load, dozens of clients' requests). A/B on one cluster, turns
          // alternated so the machine's drift cancels: lock cycles at 50 clients +2%, +5%, +6%
          // and +6% in four runs, SET -c 50 -P 16 +9%, SET -c 50 +6%; one client unchanged.
          const committedBefore = message.type === 'appResp' ? this.node.committedIndex() : -1;
          try {
            this.node.step(message);
          } catch (error) {
            // The core asserts what a correct log guarantees (etcd panics the same way): a leader
            // telling us of a commit beyond our log means our log lost acknowledged entries.
            this.onFatal(
              `Raft refused a message from ${message.from}: ${(error as Error).message}. This node's data dir is behind what the ` +
                `cluster knows it held: it was probably wiped or restored from an old copy. Restore it, or remove the node ` +
                `(RAFT.REMOVENODE ${config.nodeId}) and add it again (start it with --join, then RAFT.ADDNODE ${config.nodeId} <raft-address>)`,
            );
            return;
          }
          if (committedBefore >= 0 && this.node.committedIndex() > committedBefore) this.pump();
          else this.scheduleProcess();
        },
        executeForwarded: (db, argv) => Promise.resolve(db === ADMIN_DB ? this.adminHere(argv) : this.writeHere(db, argv)),
        clientAddress: () => this.clientAddresses.get(config.nodeId) ?? '',
        incarnation: this.incarnation,
        onHello: (nodeId, incarnation) => this.checkIncarnation(nodeId, incarnation),
        onRefused: (by, reason) => this.onFatal(`node ${by} refused this node: ${reason}`),
        onPeerPortClosed: (peerId) => this.onPeerPortClosed(peerId),
        onPeerConnected: (peerId) => this.onPeerConnected(peerId),
        sentinelNames: this.sentinelNames,
        onSentinelNames: this.onSentinelNames,
      });
      await this.link.start();
    }
    let ticks = 0;
    this.tickTimer = setInterval(() => {
      this.node.tick();
      if (this.node.needsSnapshot()) this.snapshotForFollower();
      if (++ticks % config.electionTicks === 0) {
        this.promoteCaughtUpLearners();
        if (this.readBatches.size > 0) this.failReadBatches(2 * electionTimeoutMs(config), Outcome.readUnconfirmed);
      }
      this.scheduleProcess();
    }, config.tickMs);
    this.sweepTimer = setInterval(() => this.sweepExpired(), config.expirySweepMs);
    // A single voter does not need to wait out an election timeout to lead.
    const singleNode = voters.length === 1 && voters[0] === config.nodeId;
    if (singleNode) this.node.campaign();
    this.scheduleProcess();
    // Serve only once the log on disk is replayed into the state machine (Redis answers -LOADING
    // meanwhile; we simply don't listen yet), and, alone, once we lead.
    const replayTo = loaded.hardState.commit;
    await this.until(() => this.appliedIndex >= replayTo && (!singleNode || this.softState.role === 'leader'), 60_000);
  }

  /** Resolves when `condition` holds, checked after every processed Ready; rejects after timeoutMs. */
  private until(condition: () => boolean, timeoutMs: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.conditionWaiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for the Raft node to catch up`));
      }, timeoutMs);
      const check = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.conditionWaiters.delete(check);
        resolve();
      };
      this.conditionWaiters.add(check);
    });
  }

  /** Waits (up to two election timeouts) for a leader to be known, as etcd does, instead of failing mid-election. */
  private async leaderKnown(): Promise<boolean> {
    if (this.softState.leaderId !== '') return true;
    try {
      await this.until(() => this.softState.leaderId !== '' || this.draining, 2 * electionTimeoutMs(this.config));
    } catch {
      return false;
    }
    return this.softState.leaderId !== '';
  }

  /** The cluster's id: given, or derived from the founding member list, which every founder shares. */
  clusterId(): string {
    if (this.config.clusterId !== '') return this.config.clusterId;
    const founders = this.config.peers.filter((p) => !(this.config.join && p.nodeId === this.config.nodeId));
    const members = founders.length > 0 ? founders.map((p) => `${p.nodeId}=${p.raftAddress}`) : [this.config.nodeId];
    return createHash('sha1').update(members.sort().join(',')).digest('hex').slice(0, 16);
  }

  // ---- writes ----

  write(db: number, argv: string[]): ReplyOrLater {
    if (this.draining) return Outcome.shuttingDown;
    if (this.link !== null && this.softState.role !== 'leader') return this.writeViaLeader(db, argv);
    return this.writeHere(db, argv);
  }

  /**
   * Membership and leadership admin (RAFT.ADDNODE / RAFT.REMOVENODE / RAFT.TRANSFER). On a
   * follower the request goes to the leader once, like a forwarded write.
   */
  admin(argv: string[]): Promise<Reply> {
    if (this.draining) return Promise.resolve(Outcome.shuttingDown);
    if (this.link !== null && this.softState.role !== 'leader') return this.adminViaLeader(argv);
    return Promise.resolve(this.adminHere(argv));
  }

  private async adminViaLeader(argv: string[]): Promise<Reply> {
    if (this.softState.leaderId === '' && !(await this.leaderKnown())) return Outcome.noLeader('');
    if (this.softState.leaderId === this.config.nodeId) return this.adminHere(argv);
    return this.link!.forward(this.softState.leaderId, ADMIN_DB, argv);
  }

  private adminHere(argv: string[]): Reply {
    if (this.softState.role !== 'leader') return Outcome.noLeader(this.softState.leaderId);
    const command = argv[0].toLowerCase();
    if (command === 'raft.transfer') {
      const target = argv[1] ?? this.bestTransferTarget();
      if (target === '') return new ErrorReply('ERR no other voter to transfer leadership to');
      const result = this.node.transferLeadership(target);
      this.scheduleProcess();
      if (!result.ok) return new ErrorReply(`ERR cannot transfer leadership to '${target}': ${result.reason}`);
      return new SimpleString(`OK transferring leadership to ${target}`);
    }
    let change: ConfChange;
    if (command === 'raft.addnode') {
      const address = argv[2];
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(argv[1])) return new ErrorReply('ERR node id must be 1-64 letters, digits, - or _');
      if (!/^[^:\s]+:\d{1,5}$/.test(address)) return new ErrorReply(`ERR '${address}' is not a host:port Raft address`);
      change = { type: 'addLearner', nodeId: argv[1], address };
      // A new (or re-added) member's first hello records its incarnation afresh.
      this.link?.forgive(argv[1]);
      void this.propose({ kind: 'member', nodeId: argv[1], incarnation: '', timeMs: this.nextTimestamp() });
    } else if (command === 'raft.removenode') {
      change = { type: 'removeNode', nodeId: argv[1] };
    } else {
      return new ErrorReply(`ERR unknown admin command '${argv[0]}'`);
    }
    const result = this.node.proposeConfChange(change);
    this.scheduleProcess();
    if (!result.ok) {
      const why = result.reason === 'conf-change-pending' ? 'another membership change is still in progress; retry shortly' : (result.detail ?? result.reason);
      return new ErrorReply(`ERR membership change refused: ${why}`);
    }
    return change.type === 'addLearner'
      ? new SimpleString(`OK ${change.nodeId} joins as a learner at index ${result.index}; it becomes a voter once caught up`)
      : new SimpleString(`OK ${change.nodeId} removed at index ${result.index}`);
  }

  /** The most caught-up other voter. */
  private bestTransferTarget(): string {
    const s = this.node.status();
    let best = '';
    let bestMatch = -1;
    for (const id of s.conf.voters) {
      if (id === this.config.nodeId) continue;
      const match = s.progress[id]?.match ?? 0;
      if (match > bestMatch) {
        best = id;
        bestMatch = match;
      }
    }
    return best;
  }

  /** Leader's chore: a learner whose log has caught up with the commit index is promoted to voter. */
  private promoteCaughtUpLearners(): void {
    if (this.softState.role !== 'leader') return;
    const s = this.node.status();
    for (const id of s.conf.learners) {
      const progress = s.progress[id];
      if (!progress || progress.match < s.commit) continue;
      const result = this.node.proposeConfChange({ type: 'addVoter', nodeId: id, address: this.raftAddresses.get(id) });
      if (result.ok) {
        this.logger.info('learner caught up; promoting it to voter', { node: id, index: result.index });
        this.scheduleProcess();
      }
      return; // one change at a time
    }
  }

  /** Proposes on this node; never forwards (a forwarded write must not bounce between nodes). */
  private writeHere(db: number, argv: string[]): ReplyOrLater {
    if (this.draining) return Outcome.shuttingDown;
    return this.propose({ kind: 'cmd', db, argv, timeMs: this.nextTimestamp() });
  }

  /** A follower's write: forwarded once to the leader (proxy mode) or redirected (redirect mode). */
  private async writeViaLeader(db: number, argv: string[]): Promise<Reply> {
    if (this.softState.leaderId === '' && !(await this.leaderKnown())) return Outcome.noLeader('');
    const leaderId = this.softState.leaderId;
    if (leaderId === this.config.nodeId) return this.writeHere(db, argv);
    if (this.config.followerMode === 'redirect') {
      const address = this.link!.clientAddressOf(leaderId);
      if (address === '') return Outcome.noLeader(leaderId);
      return new ErrorReply(`MOVED 0 ${address}`);
    }
    return this.link!.forward(leaderId, db, argv);
  }

  /**
   * Not an async function: on the hot path (a leader) the caller gets the waiter itself (a
   * PendingReply), without an async frame, a Promise or the microtask turns of adopting one.
   */
  private propose(command: LogCommand): ReplyOrLater {
    if (this.softState.leaderId === '') {
      return this.leaderKnown().then((known) => (known ? this.proposeAsLeader(command) : Outcome.noLeader('')));
    }
    return this.proposeAsLeader(command);
  }

  private proposeAsLeader(command: LogCommand): ReplyOrLater {
    if (this.softState.role !== 'leader') return Outcome.noLeader(this.softState.leaderId);
    const result = this.node.propose(encodeLogCommand(command));
    if (!result.ok) {
      return result.reason === 'uncommitted-limit' ? Outcome.tooManyPending : Outcome.noLeader(result.leaderId ?? '');
    }
    this.scheduleProcess();
    const waiter = new WriteWaiter(result.index, result.term, command, performance.now());
    this.waiters.add(waiter, Outcome.uncertain);
    return waiter;
  }

  /** Entry time: the leader's clock, never going backwards across entries or leaders. */
  private nextTimestamp(): number {
    const now = this.clockMs();
    if (now > this.lastTimestampMs) this.lastTimestampMs = now;
    return this.lastTimestampMs;
  }

  /** This node's wall clock (skewed only by the test-only --test-clock-offset-ms). */
  private clockMs(): number {
    return Date.now() + this.config.testClockOffsetMs;
  }

  // ---- reads ----

  read(db: number, argv: string[], stale: boolean): Reply | Promise<Reply> {
    if (stale || this.config.testUnsafeLocalReads) return this.sm.read(db, argv, this.clockMs());
    if (this.draining) return Outcome.shuttingDown;
    if (this.softState.leaderId === '') {
      return this.leaderKnown().then((known) => (known ? this.read(db, argv, stale) : Outcome.noLeader('')));
    }
    // Followers serve linearizable reads too: the core asks the leader for the read index.
    return new Promise((resolve) => {
      this.nextReadBatch.push({ minIndex: this.node.status().lastIndex, db, argv, resolve });
      if (!this.readScheduled) {
        this.readScheduled = true;
        setImmediate(() => this.issueReadIndex());
      }
    });
  }

  /** All reads that arrived in one event-loop turn share one ReadIndex round. */
  private issueReadIndex(): void {
    this.readScheduled = false;
    const batch = this.nextReadBatch;
    if (batch.length === 0) return;
    this.nextReadBatch = [];
    const context = String(++this.readContextSeq);
    const result = this.node.readIndex(Buffer.from(context));
    if (!result.ok) {
      for (const read of batch) read.resolve(Outcome.noLeader(result.leaderId));
      return;
    }
    this.readBatches.set(context, { reads: batch, askedAt: performance.now() });
    this.scheduleProcess();
  }

  /**
   * Serves every read whose point (its confirmed read index, and the last proposal before it) is
   * applied. Called after each applied entry, so a read never sees an entry proposed after it.
   */
  private serveReads(): void {
    let now = 0;
    while (this.readsAwaitingApply.length > 0) {
      const head = this.readsAwaitingApply[0];
      if (head.index > this.appliedIndex) break;
      let i = 0;
      while (i < head.reads.length && head.reads[i].minIndex <= this.appliedIndex) i++;
      if (i > 0) {
        if (now === 0) now = this.clockMs();
        for (const read of head.reads.splice(0, i)) read.resolve(this.sm.read(read.db, read.argv, now));
      }
      if (head.reads.length > 0) break;
      this.readsAwaitingApply.shift();
    }
  }

  // ---- the loop ----

  private scheduleProcess(): void {
    if (this.processScheduled || this.stopped) return;
    this.processScheduled = true;
    setImmediate(() => {
      this.processScheduled = false;
      this.pump();
    });
  }

  /**
   * Takes every Ready the core has and starts writing it. A follower or candidate gets one at a
   * time: its messages and applies wait for its write (completePersisted). A leader whose term
   * is durable gets several (Ready.sendBeforePersist): their appends go out and their committed
   * entries (durable here) are applied at once, so the leader's fsync overlaps its followers' and
   * a commit never waits behind an unrelated write.
   */
  private pump(): void {
    // After stop() began closing, a Ready must not reach the closed storage.
    if (this.stopped) return;
    while (this.node.hasReady()) {
      const ready = this.node.ready();
      this.counters.entriesPersisted += ready.entries.length;
      const slot = { ready, persisted: false };
      this.pipeline.push(slot);
      if (ready.sendBeforePersist) this.handleReady(ready);
      // A follower's write, and a leader's at light load (nothing else in flight, at most
      // LEADER_BLOCKING_ENTRIES_MAX entries), is made on the event loop when small (see
      // persist()); the leader's appends go to the sockets first, so its write still overlaps its
      // followers'. Under load a leader's writes go through the thread pool, so that it keeps
      // reading requests and pipelining Readys meanwhile: blocking whenever only one write was in
      // flight cost 8% of SET -c 50 (17.1-17.4k vs 18.4-19.4k/s).
      const leaderBlocks =
        ready.sendBeforePersist && ready.entries.length > 0 && ready.entries.length <= LEADER_BLOCKING_ENTRIES_MAX && this.pipeline.length === 1;
      if (leaderBlocks) this.link?.flushRaft();
      const write = this.persist(ready, !ready.sendBeforePersist || leaderBlocks).then(
        () => {
          slot.persisted = true;
          this.completePersisted();
        },
        (error: unknown) => this.onStorageFailure(error),
      );
      this.lastWrite = write;
    }
    if (this.commitBroadcastTimer === null && this.node.commitBroadcastPending()) {
      this.armCommitBroadcast();
    }
  }

  /**
   * Our leader's Raft port refuses connections: its host answered but its process is not running
   * (crashed, killed or stopped). Waiting out the election timeout would leave the cluster
   * without a leader for 1-2 s for nothing, so we forget the leader (we then grant pre-votes at
   * once: etcd's ForgetLeader) and campaign within --fast-failover-ms, in turn with the other
   * survivors (see below), so that they do not split the vote. Safe whatever the truth: a live leader
   * keeps its followers in its lease, they refuse our pre-vote, and nothing changes.
   */
  private onPeerPortClosed(peerId: NodeId): void {
    if (this.config.fastFailoverMs === 0 || this.stopped || this.leaderGoneTimer !== null) return;
    if (this.softState.role !== 'follower' || this.softState.leaderId !== peerId) return;
    // The surviving voters campaign in turn, in node-id order, one slot of --fast-failover-ms /
    // survivors each (jittered within its first half): had they all drawn from one window, two
    // would pass their pre-votes together often enough (1 failover in 10 in the bench) to split
    // the vote, and a split waits out a whole election timeout. A survivor whose log is behind
    // loses its pre-vote, and the next one in turn, which is not behind, wins.
    const status = this.node.status();
    const delayMs = this.campaignTurnMs(status.conf.voters.filter((id) => id !== peerId));
    if (delayMs < 0 || !this.node.forgetLeader()) return;
    this.logger.warn('the leader\'s raft port refuses connections: its process is gone; forgetting it and campaigning', {
      leader: peerId,
      campaignInMs: delayMs,
    });
    this.fastCampaign(delayMs, FAST_FAILOVER_ROUNDS, status.term);
    this.scheduleProcess();
  }

  /**
   * A cluster started (or restarted) whole elects its first leader as soon as a quorum of voters
   * can talk, not an election timeout (1-2 s by default) after they are all up: etcd's
   * --initial-election-tick-advance. Until this node first knows a leader, each voter that
   * accepts our connection counts; at a quorum, the voters campaign in turn as in a fast failover,
   * after two ticks in which a running leader (when this node alone restarted) makes itself known
   * and nothing happens. Were it not heard in time, its followers would refuse our pre-vote (they
   * honour its lease): a running cluster is never disturbed.
   */
  private onPeerConnected(peerId: NodeId): void {
    const up = this.bootPeersUp;
    if (up === null || this.config.fastFailoverMs === 0 || this.stopped || this.leaderGoneTimer !== null) return;
    up.add(peerId);
    if (this.softState.role !== 'follower' || this.softState.leaderId !== '') return;
    const status = this.node.status();
    const voters = status.conf.voters;
    const reachable = voters.filter((id) => id === this.config.nodeId || up.has(id)).length;
    if (2 * reachable <= voters.length) return;
    const turnMs = this.campaignTurnMs(voters);
    if (turnMs < 0) return;
    this.bootPeersUp = null;
    const delayMs = 2 * this.config.tickMs + turnMs;
    this.logger.info('a quorum of voters is up and no leader is known since start; campaigning in turn', { reachable, campaignInMs: delayMs });
    this.fastCampaign(delayMs, FAST_FAILOVER_ROUNDS, status.term);
  }

  /**
   * When this node's turn to campaign comes among `voters`: in node-id order, one slot of
   * --fast-failover-ms / voters each, jittered within its first half. -1 when it is not a voter.
   */
  private campaignTurnMs(voters: readonly NodeId[]): number {
    const rank = [...voters].sort().indexOf(this.config.nodeId);
    if (rank < 0) return -1;
    const slotMs = this.config.fastFailoverMs / voters.length;
    return Math.round(rank * slotMs + randomInt(0, Math.max(1, Math.floor(slotMs / 2))));
  }

  /**
   * Campaigns after delayMs unless a leader appeared, then again one round later while none has,
   * up to `rounds` times. A pre-vote made before another survivor noticed the leader's death is
   * ignored by it (it still honours the lease); when that survivor's own turn comes, its log may
   * be behind ours, so our vote refuses it too. Without another round, both then wait out an
   * election timeout (1.2 s in one of 15 kills under load). Stops once any election got past
   * its pre-vote (the term moved on from `term`): that one will settle it.
   */
  private fastCampaign(delayMs: number, rounds: number, term: number): void {
    this.leaderGoneTimer = setTimeout(() => {
      this.leaderGoneTimer = null;
      const status = this.node.status();
      // Another node may have won meanwhile (we then follow it), or the old leader spoke again.
      if (this.stopped || status.leaderId !== '' || status.term !== term || status.role === 'leader') return;
      this.node.campaign();
      this.scheduleProcess();
      if (rounds > 1) this.fastCampaign(this.config.fastFailoverMs, rounds - 1, term);
    }, delayMs);
  }

  /**
   * Leader: a commit index not yet sent to a follower goes out after --commit-broadcast-delay-ms,
   * unless an append (the next write's) has carried it by then. Under load it always has; when
   * the cluster goes idle, this bounds how long a follower applies behind the leader.
   */
  private armCommitBroadcast(): void {
    const upTo = this.node.committedIndex();
    this.commitBroadcastTimer = setTimeout(() => {
      this.commitBroadcastTimer = null;
      if (this.stopped) return;
      this.node.broadcastCommit(upTo);
      this.scheduleProcess();
    }, this.config.commitBroadcastDelayMs);
  }

  /** Advances the Readys whose writes are done, oldest first (writes complete in order). */
  private completePersisted(): void {
    if (this.stopped) return;
    let advanced = false;
    while (this.pipeline.length > 0 && this.pipeline[0].persisted) {
      const { ready } = this.pipeline.shift()!;
      if (!ready.sendBeforePersist) this.handleReady(ready);
      this.node.advance();
      // A snapshot received from the leader is on disk and applied: the core need not hold it.
      if (ready.snapshot) this.node.releaseSnapshotData(ready.snapshot.meta.index);
      advanced = true;
    }
    if (!advanced) return;
    for (const check of [...this.conditionWaiters]) check();
    // A snapshot covers what the state machine has applied: durable entries only (a leader applies
    // ahead of advance() only entries that are durable here), so Readys still in flight are no bar.
    this.maybeSnapshot();
    // advance() can make a Ready (our own copy became durable: a commit); take it now.
    this.pump();
  }

  private onStorageFailure(error: unknown): void {
    if (this.stopped) return;
    // A failed fsync leaves us unable to promise durability: stop rather than acknowledge.
    this.logger.error('raft storage write failed; stopping the node to protect acknowledged writes', {
      err: error as Error,
      hint: 'check the disk holding --data-dir, then restart the node',
    });
    process.exitCode = 1;
    void this.stop();
  }

  private async persist(ready: Ready, blocking: boolean): Promise<void> {
    if (!ready.hardState && ready.entries.length === 0 && !ready.snapshot) return;
    if (!ready.mustSync) {
      // A commit-only change: written without fsync and not waited for (the storage queue keeps
      // it in order with later writes). A crash may lose it; Raft relearns the commit index.
      // A failure here fails the next synced write, which stops the node.
      this.storage.save({ hardState: ready.hardState, sync: false }).catch((error) =>
        this.logger.error('raft storage write of the commit index failed', { err: error as Error }),
      );
      return;
    }
    // `blocking`: this node's Raft progress waits for this write anyway (a follower's or a
    // candidate's Ready, or a leader's single small write at light load), so when small it is written on the
    // event loop, without the thread pool's two wake-ups. One client, warm, on the bench machine:
    // p99 6.7-7.1 -> 5.6-6.4 ms with followers blocking, then 4.9-5.2 -> 3.0-3.5 ms with the
    // leader too (interleaved runs). Client commands on this node wait at most that one write.
    await this.storage.save({ hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot, blocking });
  }

  private handleReady(ready: Ready): void {
    if (ready.softState) this.onSoftState(ready.softState);
    if (ready.snapshot) {
      this.restoreSnapshot(ready.snapshot);
      // Writes proposed here (as a leader since deposed) whose index the snapshot covers are never
      // applied one by one: whether it was our entry or another leader's there, we cannot tell.
      this.waiters.answerUpTo(ready.snapshot.meta.index, Outcome.uncertain);
    }
    // Called when the Ready is taken (sendBeforePersist) or once its write is durable (otherwise):
    // either way its messages may go now.
    if (ready.messages.length > 0) {
      this.sendMessages(ready.messages);
      // A follower's acknowledgement leaves now, before it applies this Ready's committed entries
      // (about 20 under load), not at the end of the turn: the leader's commit, and its clients'
      // replies, wait on the acknowledgement, never on our apply. A/B on one cluster, turns
      // alternated: lock cycles at 50 clients +5% and +1% (median of the rounds' ratios).
      if (!ready.sendBeforePersist) this.link?.flushRaft();
    }
    // Read points first, then entries one at a time, serving each read as soon as its point is applied.
    for (const state of ready.readStates) {
      const context = Buffer.from(state.context).toString();
      const pending = this.readBatches.get(context);
      if (!pending) continue;
      this.readBatches.delete(context);
      const reads = pending.reads;
      // Batches arrive in request order; keeping the queue sorted by index makes serving a prefix scan.
      this.readsAwaitingApply.push({ index: state.index, reads });
    }
    this.serveReads();
    for (const entry of ready.committedEntries) {
      this.applyEntry(entry);
      if (this.readsAwaitingApply.length > 0) this.serveReads();
    }
  }

  /** The state machine becomes `snapshot` (ours at start, or one received from the leader). */
  private restoreSnapshot(snapshot: Snapshot): void {
    this.sm.restore(snapshot.data);
    this.appliedIndex = snapshot.meta.index;
    this.lastSnapshotIndex = snapshot.meta.index;
    this.lastSnapshotBytes = snapshot.data.length;
    this.logBytesSinceSnapshot = 0;
  }

  private sendMessages(messages: Ready['messages']): void {
    for (const m of messages) {
      if (m.type !== 'app' || m.entries.length === 0) continue;
      this.counters.appendMessagesSent++;
      this.counters.entriesInAppends += m.entries.length;
    }
    this.link?.sendRaft(messages);
  }

  private applyEntry(entry: Entry): void {
    this.appliedIndex = entry.index;
    this.logBytesSinceSnapshot += entry.data.length;
    let reply: Reply = null;
    const waiter = this.waiters.take(entry.index, Outcome.uncertain);
    if (entry.type === EntryType.Normal && entry.data.length > 0) {
      let command: LogCommand;
      if (waiter !== undefined && waiter.term === entry.term) {
        // Same index and term: this entry is the one proposed here (log matching), and its bytes
        // decode to this very command (binary strings and integers round-trip through msgpack),
        // so the leader skips decoding its own writes.
        command = waiter.command;
      } else {
        try {
          command = decodeLogCommand(entry.data);
        } catch (error) {
          this.logger.error('undecodable raft entry; skipping it on every replica alike', { index: entry.index, err: error as Error });
          command = { kind: 'expire', db: 0, keys: [], timeMs: 0 };
        }
      }
      if (command.timeMs > this.lastTimestampMs) this.lastTimestampMs = command.timeMs;
      if (command.kind === 'leader' && command.leaderId === this.config.nodeId) this.leaderEntryAppliedTerm = entry.term;
      reply = this.sm.apply(command, entry.index);
      if (command.kind === 'expire') this.sweepInFlight = false;
    }
    if (entry.type === EntryType.ConfChange && entry.data.length > 0) this.onConfChangeApplied(entry);
    if (waiter) {
      this.counters.writesApplied++;
      this.counters.writeMicrosTotal += (performance.now() - waiter.proposedAt) * 1000;
      this.waiters.answer(waiter, waiter.term === entry.term ? reply : Outcome.overwritten);
    }
  }

  /** A Sentinel master name was asked about here for the first time: tell the peers now. */
  sentinelNamesChanged(): void {
    this.link?.sayHello();
  }

  /**
   * A member said hello with its data dir's incarnation. The first one the cluster hears for a
   * member is recorded in the log; a different one later means the member lost its data (a wiped
   * dir) and would vote with an empty log under its old identity, which can lose acknowledged
   * writes. The leader refuses it until it is removed and added again (RAFT.REMOVENODE, then
   * RAFT.ADDNODE).
   */
  private checkIncarnation(nodeId: string, incarnation: string): void {
    if (typeof incarnation !== 'string' || incarnation === '') return;
    // Only a leader that has applied its own term's 'leader' entry (so everything committed before
    // its term) judges: a lagging node may not yet have applied the RAFT.ADDNODE that reset a
    // re-added member's record, and would refuse a legitimate member.
    if (this.softState.role !== 'leader' || this.leaderEntryAppliedTerm !== this.node.status().term) return;
    const recorded = this.sm.memberIncarnation(nodeId);
    if (recorded !== undefined && recorded !== incarnation) {
      this.link?.refuse(
        nodeId,
        `${nodeId}'s data dir is not the one this cluster knows (created ${new Date(Number(incarnation)).toISOString()}, ` +
          `expected ${new Date(Number(recorded)).toISOString()}): its data was lost or replaced. Restore the data dir, or remove ` +
          `the node (RAFT.REMOVENODE ${nodeId}) and add it again (start it with --join, then RAFT.ADDNODE ${nodeId} <raft-address>)`,
      );
      return;
    }
    if (recorded === undefined && !this.incarnationsProposed.has(nodeId)) {
      this.incarnationsProposed.add(nodeId);
      void Promise.resolve(this.propose({ kind: 'member', nodeId, incarnation, timeMs: this.nextTimestamp() })).finally(() =>
        this.incarnationsProposed.delete(nodeId),
      );
    }
  }

  /** Membership changed: keep the transport's peer list and the address book in step with the log. */
  private onConfChangeApplied(entry: Entry): void {
    let change;
    try {
      change = decodeConfChange(entry.data);
    } catch (error) {
      this.logger.error('undecodable membership change in the log', { index: entry.index, err: error as Error });
      return;
    }
    if (change.type === 'removeNode') {
      if (change.nodeId !== this.config.nodeId) this.raftAddresses.delete(change.nodeId);
    } else if (change.address) {
      this.raftAddresses.set(change.nodeId, change.address);
    }
    this.logger.info('membership change applied', { index: entry.index, change: change.type, node: change.nodeId, address: change.address });
    this.link?.setPeers(this.raftAddresses);
  }

  private addressOf(nodeId: string): string {
    if (nodeId === '') return '';
    if (nodeId === this.config.nodeId) return this.clientAddresses.get(nodeId) ?? '';
    return this.link?.clientAddressOf(nodeId) ?? '';
  }

  private onSoftState(state: SoftState): void {
    const was = this.softState;
    this.softState = state;
    if (state.role === was.role && state.leaderId === was.leaderId) return;
    if (state.leaderId !== '') this.bootPeersUp = null;
    // A ReadIndex request asked of the previous leader will not be answered by the next one.
    if (state.leaderId !== was.leaderId && this.readBatches.size > 0) this.failReadBatches(0, Outcome.readUnconfirmed);
    // Between two leaders there is usually a moment with none: name the last one we knew.
    if (state.leaderId !== '' && state.leaderId !== this.lastLeaderId) {
      if (this.lastLeaderId !== '') this.link?.abandonForwardsTo(this.lastLeaderId);
      this.onLeaderChange(this.addressOf(this.lastLeaderId), this.addressOf(state.leaderId));
      this.lastLeaderId = state.leaderId;
    }
    this.logger.info('raft role changed', { role: state.role, leader: state.leaderId, was: was.role });
    if (state.role === 'leader' && was.role !== 'leader') {
      // Time pauses for one election timeout across a leader change: every TTL is extended, none shortened.
      void this.propose({
        kind: 'leader',
        leaderId: this.config.nodeId,
        extendMs: electionTimeoutMs(this.config),
        timeMs: this.nextTimestamp(),
      });
    }
    if (was.role === 'leader' && state.role !== 'leader') this.onLeadershipLost();
  }

  /** Pending writes keep waiting: if their entry still commits we answer them; after a grace period, unknown. */
  private onLeadershipLost(): void {
    const graceMs = electionTimeoutMs(this.config) * 2;
    setTimeout(() => {
      if (this.softState.role === 'leader') return;
      this.waiters.answerUpTo(Number.MAX_SAFE_INTEGER, Outcome.uncertain);
    }, graceMs).unref();
    this.failReadBatches(0, Outcome.noLeader(this.softState.leaderId));
    this.sweepInFlight = false;
  }

  /**
   * Fails the reads whose ReadIndex request was asked `olderThanMs` or longer ago (0: all). A
   * follower's request to the leader can be lost (a dropped link, a leader that changed) and the
   * core does not retry it; an unanswered read would block its connection's later replies for good.
   */
  private failReadBatches(olderThanMs: number, reply: Reply): void {
    const now = performance.now();
    for (const [context, pending] of this.readBatches) {
      if (now - pending.askedAt < olderThanMs) continue;
      this.readBatches.delete(context);
      for (const read of pending.reads) read.resolve(reply);
    }
  }

  private sweepExpired(): void {
    if (this.softState.role !== 'leader' || this.sweepInFlight || this.stopped) return;
    const groups = this.sm.expiredKeys(this.clockMs(), this.config.expiryKeysPerEntry);
    if (groups.length === 0) return;
    this.sweepInFlight = true;
    for (const group of groups) {
      void this.propose({ kind: 'expire', db: group.db, keys: group.keys, timeMs: this.nextTimestamp() });
    }
  }

  /**
   * A snapshot every --snapshot-entries (100,000) applied entries, or as soon as
   * --snapshot-entries-min (10,000) have been applied and they hold more bytes than the last
   * snapshot: Redis's AOF rewrite rule (auto-aof-rewrite-percentage 100). Compacting then costs
   * less than the log it replaces, and a follower that fell behind gets fewer bytes as a snapshot
   * than as entries. Every entry the core holds in memory lives until compaction, long enough to
   * be promoted to V8's old space: with a small state (the benchmark's lock cycles keep 50 locks)
   * 100,000 entries cost the followers about 11% of their CPU in GC. Two clusters side by side,
   * alternating turns: lock cycles at 50 clients +5% and +9% with compaction every 10,000. With a
   * large state (a million locks, ~65 MiB of snapshot) the log never outgrows it, so such a node
   * still snapshots every 100,000 entries, not every 10,000.
   */
  private maybeSnapshot(): void {
    if (this.snapshotEncoding !== null) return;
    const entries = this.appliedIndex - this.lastSnapshotIndex;
    const logOutgrewState = entries >= this.snapshotThresholdMin && this.logBytesSinceSnapshot >= this.lastSnapshotBytes;
    if (entries >= this.snapshotThreshold || logOutgrewState) this.startSnapshot('log compaction');
  }

  /**
   * A follower needs a snapshot and the core holds none: one is encoded, in slices like any other,
   * or the one being encoded serves (its index is past the compacted log) and stays with the core
   * once saved. The core asks again on every tick until then.
   */
  private snapshotForFollower(): void {
    if (this.snapshotEncoding !== null) this.snapshotEncoding.reason = 'a follower needs one';
    else this.startSnapshot('a follower needs one');
  }

  private startSnapshot(reason: SnapshotReason): void {
    this.snapshotEncoding = { job: this.sm.beginSnapshot(), startedMs: Date.now(), reason };
    // The snapshot covers what is applied now; the entries applied while it encodes count for the next.
    this.logBytesSinceSnapshot = 0;
    setImmediate(() => this.encodeSnapshotSlice());
  }

  private encodeSnapshotSlice(): void {
    const encoding = this.snapshotEncoding;
    if (encoding === null) return;
    if (encoding.job.abandoned()) {
      // A snapshot from the leader replaced the state (stop() clears snapshotEncoding itself).
      this.snapshotEncoding = null;
      return;
    }
    if (!encoding.job.step(SNAPSHOT_SLICE_KEYS)) {
      setImmediate(() => this.encodeSnapshotSlice());
      return;
    }
    this.snapshotEncoding = null;
    this.saveSnapshot(encoding.job, encoding.reason, encoding.startedMs);
  }

  /**
   * Finishes a snapshot and compacts the log up to its index. A periodic snapshot's data is
   * dropped from memory once it is on disk; one taken because a follower needs it stays with the
   * core until the next one replaces it, so the transfer can start (dropping it at once could make
   * the core ask again, and again).
   */
  private saveSnapshot(job: SnapshotInProgress, reason: SnapshotReason, started: number): void {
    const index = job.index;
    if (index < this.node.status().snapshotIndex) {
      // The core installed a newer snapshot from the leader (restore() of the state machine comes
      // once it is on disk): that one covers this one.
      job.abandon();
      return;
    }
    const data = job.finish();
    this.lastSnapshotBytes = data.length;
    const snapshot = this.node.compact(index, data);
    this.lastSnapshotIndex = Math.max(this.lastSnapshotIndex, index);
    // Persisted through the same serialized write queue as the log, so it lands after the entries it covers.
    const bytes = data.length;
    this.snapshotSaving = this.storage.save({ snapshot }).then(
      () => {
        // Freed at once when no transfer took it: this buffer was ~65 MiB of every node's RSS at a
        // million locks until the next major GC (bench/workloads/memory.ts).
        if (reason === 'log compaction' && this.node.releaseSnapshotData(index) && snapshot.data === data) freeSnapshotBuffer(data);
        this.logger.info('snapshot taken', { index, reason, bytes, ms: Date.now() - started });
      },
      (error: Error) => this.logger.error('snapshot could not be saved; the log keeps growing until the next try', { index, err: error }),
    );
  }

  // ---- status ----

  status(): NodeStatus {
    const s = this.node.status();
    const disk = this.storage.stats();
    return {
      nodeId: this.config.nodeId,
      clusterId: this.clusterId(),
      role: this.softState.role,
      term: s.term,
      leaderId: this.softState.leaderId,
      commitIndex: s.commit,
      appliedIndex: this.appliedIndex,
      lastLogIndex: s.lastIndex,
      snapshotIndex: this.lastSnapshotIndex,
      voters: s.conf.voters,
      learners: s.conf.learners,
      logFsync: !this.config.testUnsafeNoFsync,
      fsyncCount: disk.fsyncCount,
      fsyncAvgMicros: Math.round(disk.fsyncAvgMicros),
      fsyncMaxMicros: disk.fsyncMaxMicros,
      blockingWrites: disk.blockingWrites,
      proposalsPending: this.waiters.size,
      entriesPersisted: this.counters.entriesPersisted,
      appendMessagesSent: this.counters.appendMessagesSent,
      entriesInAppends: this.counters.entriesInAppends,
      writesApplied: this.counters.writesApplied,
      writeLatencyAvgMicros: this.counters.writesApplied === 0 ? 0 : Math.round(this.counters.writeMicrosTotal / this.counters.writesApplied),
    };
  }

  /** Where this node serves clients; set by the server once it listens. */
  setClientAddress(address: string): void {
    this.clientAddresses.set(this.config.nodeId, address);
    // Told now, not at the next hello interval: a boot election can make this node leader within
    // ~100 ms, and a follower in redirect mode needs its address to send clients to it.
    this.link?.sayHello();
  }

  topology(): readonly Member[] {
    const s = this.node.status();
    const members: Member[] = [];
    const add = (nodeId: string, isLearner: boolean): void => {
      const isSelf = nodeId === this.config.nodeId;
      members.push({
        nodeId,
        clientAddress: this.addressOf(nodeId),
        isLeader: nodeId === this.softState.leaderId,
        isLearner,
        isSelf,
        reachable: isSelf || this.isReachable(nodeId),
      });
    };
    for (const id of s.conf.voters) add(id, false);
    for (const id of s.conf.learners) add(id, true);
    return members;
  }

  private isReachable(nodeId: string): boolean {
    return this.link?.reachable(nodeId) ?? false;
  }

  keyspaceStats(): { keysPerDb: number[]; expiresPerDb: number[]; locks: number; scripts: number } {
    return this.sm.stats();
  }

  /**
   * Clean stop: refuse new commands, keep the loop running until every write already proposed has
   * been answered (or a deadline passes; those still waiting then are answered UNCERTAIN), then
   * stop ticking, let the last disk write finish and close the storage.
   */
  async stop(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const deadline = Date.now() + 5000;
    while (this.waiters.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.commitBroadcastTimer) clearTimeout(this.commitBroadcastTimer);
    if (this.leaderGoneTimer) clearTimeout(this.leaderGoneTimer);
    this.snapshotEncoding?.job.abandon();
    this.snapshotEncoding = null;
    await this.lastWrite;
    await this.snapshotSaving;
    // These writes were proposed: the other nodes may still commit them after we are gone. Saying
    // "not executed" here would make clients (ioredis retries CLUSTERDOWN by itself) run them twice.
    this.waiters.answerUpTo(Number.MAX_SAFE_INTEGER, Outcome.stoppedAfterProposal);
    this.failReadBatches(0, Outcome.shuttingDown);
    for (const read of this.nextReadBatch) read.resolve(Outcome.shuttingDown);
    this.nextReadBatch = [];
    await this.link?.stop();
    await this.storage.close();
  }
}
