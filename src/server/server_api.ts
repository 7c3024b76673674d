// What connection and server command handlers may see of the running server.
//
// Kept as an interface so handlers can be tested against a fake, and so they cannot reach the
// sockets or the Raft loop directly.

import type { Reply } from '../resp/reply';
import type { ReplyOrLater } from './pending_reply';
import type { Client } from './client';
import type { CommandTable } from './command_table';
import type { ServerConfig } from './config';
import type { Logger } from './log';
import type { PubSubHub } from './pubsub';

export interface NodeStatus {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly role: 'leader' | 'follower' | 'candidate' | 'precandidate';
  readonly term: number;
  readonly leaderId: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastLogIndex: number;
  readonly snapshotIndex: number;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  /** False only under --test-unsafe-no-fsync: the log is never synced. */
  readonly logFsync: boolean;
  readonly fsyncCount: number;
  readonly fsyncAvgMicros: number;
  readonly fsyncMaxMicros: number;
  /** Synced log writes made on the event loop (a follower's small ones, a leader's at light load) rather than the thread pool. */
  readonly blockingWrites: number;
  readonly proposalsPending: number;
  /** Log entries written to disk: with fsyncCount, how many entries share one fsync. */
  readonly entriesPersisted: number;
  /** Append messages with entries sent to followers, and the entries in them. */
  readonly appendMessagesSent: number;
  readonly entriesInAppends: number;
  /** Writes proposed here and answered, and their mean time from proposal to applied. */
  readonly writesApplied: number;
  readonly writeLatencyAvgMicros: number;
}

/** One cluster member as discovery commands (CLUSTER, SENTINEL, -MOVED) present it. */
export interface Member {
  readonly nodeId: string;
  /** host:port where the member serves clients; '' until it has told us. */
  readonly clientAddress: string;
  readonly isLeader: boolean;
  readonly isLearner: boolean;
  readonly isSelf: boolean;
  /** We heard from it recently. */
  readonly reachable: boolean;
}

/** The replicated node as the dispatcher sees it. */
export interface ReplicatedNode {
  /** A write command: proposed to the log; the reply is the one computed when it is applied (an error at once if it cannot be proposed). */
  write(db: number, argv: string[]): ReplyOrLater;
  /** A read command: linearizable through ReadIndex, or from local state when `stale` is allowed. */
  read(db: number, argv: string[], stale: boolean): Reply | Promise<Reply>;
  status(): NodeStatus;
  /** RAFT.ADDNODE / RAFT.REMOVENODE / RAFT.TRANSFER, run on the leader. */
  admin(argv: string[]): Promise<Reply>;
  /** Every member of the current configuration, for CLUSTER/SENTINEL and redirects. */
  topology(): readonly Member[];
  /** Counts for INFO keyspace/memory. */
  keyspaceStats(): { keysPerDb: number[]; expiresPerDb: number[]; locks: number; scripts: number };
}

export interface ServerStats {
  connectionsReceived: number;
  commandsProcessed: number;
  rejectedConnections: number;
  pubsubMessages: number;
  protocolErrors: number;
}

export interface ServerApi {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly commands: CommandTable;
  readonly pubsub: PubSubHub;
  readonly node: ReplicatedNode;
  readonly stats: ServerStats;
  readonly startedAtMs: number;
  clients(): Iterable<Client>;
  /** Closes a client (CLIENT KILL). */
  killClient(client: Client): void;
  /** Remembers a master name a Sentinel client asked for, to name it in +switch-master. */
  noteSentinelName(name: string): void;
  /** Master names asked about here or on a peer (SENTINEL MASTERS lists them after the configured one). */
  readonly sentinelNames: ReadonlySet<string>;
  /** Applies a CONFIG SET; returns an error text or null. */
  setConfig(name: string, value: string): string | null;
}
