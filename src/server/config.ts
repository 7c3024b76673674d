// Server configuration: every setting with its default, in one place.
//
// The CLI (src/cli) turns flags and an optional config file into a ServerConfig; CONFIG GET/SET
// read and change the settings marked `runtime` here. Units are last in names.

export type FollowerMode = 'proxy' | 'redirect';

export interface PeerAddress {
  readonly nodeId: string;
  /** host:port of the peer's Raft transport. */
  readonly raftAddress: string;
}

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  nodeId: string;
  raftHost: string;
  raftPort: number;
  /** The static initial membership; empty means a single-node cluster of this node. */
  peers: PeerAddress[];
  requirepass: string;
  /** Start as a new member of an existing cluster: no votes until RAFT.ADDNODE admits us. */
  join: boolean;
  /** The cluster's id; '' derives it from the founding --peers list (what every founder computes). */
  clusterId: string;
  followerMode: FollowerMode;
  /** The master name SENTINEL MASTERS reports first (then names clients asked about); any name is answered by get-master-addr-by-name. */
  sentinelName: string;
  databases: number;

  // Protocol limits (Redis names in CONFIG GET).
  protoMaxBulkLen: number;
  protoInlineMaxBytes: number;
  protoMaxMultibulkLen: number;
  maxClients: number;
  /** Stop reading a socket whose pending output exceeds this. */
  clientOutputSoftBytes: number;
  /** Close a client whose pending output exceeds this. */
  clientOutputHardBytes: number;
  /**
   * Stop reading a socket with this many commands awaiting replies: with the soft limit, this
   * bounds a client's output to about soft + pipelineMax replies, even when replies complete late.
   */
  clientPipelineMax: number;

  // Raft timing.
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /** Take a state-machine snapshot and compact the log after this many applied entries (up to 25% more, by node: raft_driver.ts). */
  snapshotEntries: number;
  /** ...or after this many, once they hold more bytes than the last snapshot (raft_driver.ts maybeSnapshot). */
  snapshotEntriesMin: number;
  /**
   * How long the leader holds back telling followers of a new commit index when no append is
   * going out to carry it (0: at once, as etcd does). Followers apply committed writes at most this
   * much later when the cluster goes idle; under load the next write's append carries it sooner.
   */
  commitBroadcastDelayMs: number;
  /**
   * A follower that finds its leader's Raft port closed (connection refused: the leader's process
   * is gone) forgets the leader and campaigns within this many ms, the survivors in turn in
   * node-id order, instead of waiting out the election timeout. 0: off (wait for the election timeout).
   */
  fastFailoverMs: number;
  /** The leader's expiry sweep period and the most keys one expire entry carries. */
  expirySweepMs: number;
  expiryKeysPerEntry: number;

  logLevel: 'debug' | 'info' | 'warn' | 'error';

  // Test-only knobs for the fault-injection suite (test/faults); never set them in production.
  /** Added to this node's wall clock: a skewed clock must not break safety. */
  testClockOffsetMs: number;
  /** A deliberate bug: serve every read from local state, even on followers, so the checker can be shown to catch it. */
  testUnsafeLocalReads: boolean;
  /**
   * Write the Raft log without syncing it (etcd's --unsafe-no-fsync). A process crash loses
   * nothing (the page cache survives it), a kernel crash or power loss can lose acknowledged
   * writes. For measuring what the disk costs (bench/machine_cpu.ts --no-fsync), never for data.
   */
  testUnsafeNoFsync: boolean;
}

export function defaultConfig(): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 6379,
    dataDir: './data',
    nodeId: 'n1',
    raftHost: '127.0.0.1',
    raftPort: 16379,
    peers: [],
    requirepass: '',
    join: false,
    clusterId: '',
    followerMode: 'proxy',
    sentinelName: 'quorumlock',
    databases: 16,
    protoMaxBulkLen: 512 * 1024 * 1024,
    protoInlineMaxBytes: 64 * 1024,
    protoMaxMultibulkLen: 1024 * 1024,
    maxClients: 10000,
    clientOutputSoftBytes: 16 * 1024 * 1024,
    clientOutputHardBytes: 256 * 1024 * 1024,
    clientPipelineMax: 1024,
    tickMs: 100,
    electionTicks: 10,
    heartbeatTicks: 1,
    snapshotEntries: 100000,
    snapshotEntriesMin: 10000,
    commitBroadcastDelayMs: 2,
    fastFailoverMs: 100,
    expirySweepMs: 100,
    expiryKeysPerEntry: 1000,
    logLevel: 'info',
    testClockOffsetMs: 0,
    testUnsafeLocalReads: false,
    testUnsafeNoFsync: false,
  };
}

/** The election timeout in ms: how long followers wait before campaigning, and the TTL extension on failover. */
export function electionTimeoutMs(config: ServerConfig): number {
  return config.tickMs * config.electionTicks;
}
