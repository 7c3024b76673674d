// What a workload needs to know about a running benchmark target, whatever it is.

import * as fs from 'node:fs';

export type TargetKind = 'redis' | 'quorumlock' | 'etcd';

export interface Target {
  /** Stable name used in results: redis, redis-aof-always, etcd, quorumlock. */
  readonly name: string;
  readonly kind: TargetKind;
  /** Where a single-endpoint client should connect: redis itself, the quorumlock/etcd leader. */
  readonly host: string;
  readonly port: number;
  /** Process-level control of the target's servers, for the failover and memory workloads. */
  readonly nodes: NodeControl;
  stop(): Promise<void>;
}

/**
 * The target's server processes by node id (one for redis, three for the clusters). Stopped nodes
 * keep their data dir and ports, so `start` brings back the same member.
 */
export interface NodeControl {
  readonly ids: readonly string[];
  /** The node's client port (Redis protocol or etcd gRPC). */
  port(id: string): number;
  /** The pid of the running process; throws when the node is stopped. */
  pid(id: string): number;
  isRunning(id: string): boolean;
  /** The node every member agrees leads now, waiting up to `timeoutMs` for one (redis: its only node). */
  leader(timeoutMs?: number): Promise<string>;
  /** Sends `signal` and waits for the process to exit. */
  signal(id: string, signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Spawns a stopped node again (same data dir, ports and flags); resolves once the process accepts connections. */
  start(id: string): Promise<void>;
  /** Resolves once `id` has applied everything the leader had committed when this was called. */
  caughtUp(id: string, timeoutMs: number): Promise<void>;
  /** The last `lines` lines each node printed (quorumlock only), kept with a slow failover. */
  logTail?(lines: number): string;
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}
