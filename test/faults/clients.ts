// The fault run's clients: real ioredis clients of the three kinds users run against a cluster.
//
//   sentinel  ioredis in Sentinel mode, every node listed as a sentinel (master = Raft leader)
//   cluster   ioredis.Cluster (the leader owns all slots; CLUSTERDOWN/TRYAGAIN are retried)
//   plain     ioredis on one node; a follower forwards writes to the leader
//
// None of them may run a command twice: a resent compare-and-delete or LOCK could take effect
// twice and show an anomaly the server did not cause. So ioredis never resends what it had sent
// when a connection drops (autoResendUnfulfilledCommands: false) and the Cluster client does not
// retry after "Connection is closed" (retryDelayOnFailover: 0); it only retries replies that say
// the command was not executed. Every call has one deadline; past it, the outcome is unknown.
//
// ioredis's Cluster client sends READONLY on every connection to a replica (a follower), and when
// the connection to a slot's master is gone it sends the command to a random connection, replica
// included: a GET there is then served from the follower's own state, which may be stale (README:
// READONLY opts into local reads). The first runs of this suite found exactly that (stale reads
// through Cluster-mode clients right after the leader was removed or killed). Unless
// `clusterReadonly` is set, our Cluster clients skip READONLY, so every read they send is a
// linearizable one, and the suite checks the server rather than that client-side choice.

import Redis, { type Cluster as RedisCluster } from 'ioredis';

// ioredis's own slot function (its dependency, without type declarations).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const calculateSlot = require('cluster-key-slot') as (key: string) => number;

export type ClientKind = 'sentinel' | 'cluster' | 'plain';

export interface FaultClient {
  readonly index: number;
  readonly via: string;
  call(command: string, args: Array<string | number>): Promise<unknown>;
  /** Best effort: the node a command for `key` goes to now (for reading a history). */
  nodeFor(key: string): string;
  close(): void;
}

const connectTimeoutMs = 1000;

export function createClient(
  index: number,
  kind: ClientKind,
  ports: readonly number[],
  nodeIds: readonly string[],
  opTimeoutMs: number,
  clusterReadonly = false,
): FaultClient {
  const common = {
    connectTimeout: connectTimeoutMs,
    commandTimeout: opTimeoutMs,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    retryStrategy: () => 100,
    enableReadyCheck: true,
  };
  // Rotate the seed lists so the clients do not all ask the same node first.
  const rotated = ports.map((_, i) => ports[(i + index) % ports.length]);
  let client: Redis | RedisCluster;
  let via: string;
  if (kind === 'sentinel') {
    client = new Redis({ sentinels: rotated.map((port) => ({ host: '127.0.0.1', port })), name: 'mymaster', sentinelRetryStrategy: () => 100, ...common });
    via = 'sentinel';
  } else if (kind === 'cluster') {
    client = new Redis.Cluster(
      rotated.map((port) => ({ host: '127.0.0.1', port })),
      {
        clusterRetryStrategy: () => 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnFailover: 0,
        retryDelayOnTryAgain: 100,
        retryDelayOnMoved: 0,
        maxRedirections: 16,
        slotsRefreshTimeout: 1000,
        redisOptions: common,
      },
    );
    via = 'cluster';
    if (!clusterReadonly) {
      // Replaces the method ioredis calls (on connect and on a role change) to send READONLY.
      const pool = (client as unknown as { connectionPool: { on(event: '+node', fn: (redis: Redis) => void): void } }).connectionPool;
      pool.on('+node', (redis) => {
        (redis as unknown as { readonly: () => Promise<string> }).readonly = () => Promise.resolve('OK');
      });
    }
  } else {
    const node = index % ports.length;
    client = new Redis({ host: '127.0.0.1', port: ports[node], ...common });
    via = `plain:${nodeIds[node]}`;
  }
  client.on('error', () => undefined);
  const byPort = new Map(ports.map((port, i) => [port, nodeIds[i]]));
  const nodeFor = (key: string): string => {
    try {
      if (kind === 'cluster') {
        const address = (client as RedisCluster & { slots: string[][] }).slots[calculateSlot(key)]?.[0] ?? '';
        return byPort.get(Number(address.split(':').pop())) ?? '?';
      }
      const port = (client as Redis & { stream?: { remotePort?: number } }).stream?.remotePort;
      return port === undefined ? '?' : (byPort.get(port) ?? '?');
    } catch {
      return '?';
    }
  };
  return {
    index,
    via,
    nodeFor,
    call: (command, args) => withDeadline(client.call(command, ...args), opTimeoutMs + 500),
    close: () => client.disconnect(),
  };
}

function withDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

