// What a workload needs to know about a running benchmark target, whatever it is.

export type TargetKind = 'redis' | 'quorumlock' | 'etcd';

export interface Target {
  /** Stable name used in results: redis, redis-aof-always, etcd, quorumlock. */
  readonly name: string;
  readonly kind: TargetKind;
  /** Where a single-endpoint client should connect: redis itself, the quorumlock/etcd leader. */
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}
