// ioredis clients that find the leader by themselves (Sentinel mode and Cluster mode), set up the
// way the failover tests need them: retry fast, wait for the new leader instead of failing
// (maxRetriesPerRequest: null), and swallow connection errors (a killed node is expected).

import Redis, { type Cluster as RedisCluster, type RedisOptions } from 'ioredis';
import type { Cluster } from '../helpers/cluster';

function addresses(cluster: Cluster): Array<{ host: string; port: number }> {
  return [...cluster.nodes.values()].map((n) => ({ host: '127.0.0.1', port: n.port }));
}

/** A client in Sentinel mode with every node as a sentinel. */
export function sentinelClient(cluster: Cluster, extra: RedisOptions = {}): Redis {
  const client = new Redis({
    sentinels: addresses(cluster),
    name: 'mymaster',
    sentinelRetryStrategy: () => 50,
    retryStrategy: () => 50,
    maxRetriesPerRequest: null,
    commandTimeout: 5000,
    connectTimeout: 1000,
    ...extra,
  });
  client.on('error', () => undefined);
  return client;
}

/** An ioredis.Cluster client seeded with every node. */
export function clusterClient(cluster: Cluster, commandTimeoutMs: number): RedisCluster {
  const client = new Redis.Cluster(addresses(cluster), {
    clusterRetryStrategy: () => 50,
    retryDelayOnClusterDown: 50,
    retryDelayOnFailover: 50,
    retryDelayOnTryAgain: 50,
    maxRedirections: 100,
    slotsRefreshTimeout: 1000,
    redisOptions: { connectTimeout: 1000, commandTimeout: commandTimeoutMs, maxRetriesPerRequest: null },
  });
  client.on('error', () => undefined);
  return client;
}
