// Reproduction (found by the fault run): ioredis 6 in Cluster mode sends READONLY on each connection
// to a replica (a follower), and when its connection to the slot's master is gone it sends commands
// to a random connection, replicas included. quorumlock serves a READONLY connection's reads from the
// follower's own state, so after a leader dies the client reads data older than a write it had
// acknowledged. Here: follower cut off, SET k new acknowledged, leader killed, GETs through the
// Cluster client return 'old' while a plain GET on that follower is refused (CLUSTERDOWN).
//
//   npx tsc -p . && node dist/test/faults/repro/cluster_readonly.js

import Redis from 'ioredis';
import { Cluster, command } from '../../helpers/cluster';
import { setTimeout as sleep } from 'node:timers/promises';

async function main(): Promise<void> {
  const teardowns: Array<() => unknown> = [];
  const cluster = await Cluster.start({ teardown: (f) => teardowns.push(f), passing: () => true, comment: () => undefined }, { nodes: 3, proxies: true });
  const client = new Redis.Cluster(
    [...cluster.nodes.values()].map((n) => ({ host: '127.0.0.1', port: n.port })),
    { clusterRetryStrategy: () => 100, retryDelayOnClusterDown: 100 },
  );
  client.on('error', () => undefined);
  try {
    const leader = await cluster.leader();
    const [cut, other] = [...cluster.nodes.keys()].filter((id) => id !== leader.id);
    console.log(`leader ${leader.id}, follower to cut off ${cut}`);
    console.log('SET k old ->', await client.set('k', 'old'), '; GET k ->', await client.get('k'));
    await sleep(500); // the replica connections are up, READONLY sent on each
    await cluster.isolate(cut, 'drop');
    console.log('SET k new ->', await client.set('k', 'new'), `(committed on ${leader.id} and ${other})`);
    await cluster.kill(leader.id);
    const seen = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const got = await client.get('k').then((v) => String(v), (e: Error) => `error ${e.message.split(' ')[0]}`);
      seen.set(got, (seen.get(got) ?? 0) + 1);
      await sleep(10);
    }
    console.log('40 GETs through the Cluster client after the leader died:', Object.fromEntries(seen));
    const plain = await command(cluster.node(cut).port, ['GET', 'k'], 1500).then((r) => (r instanceof Error ? r.message : String(r)), (e: Error) => e.message);
    console.log(`plain GET k on ${cut}: ${plain}`);
  } finally {
    client.disconnect();
    for (const fn of teardowns.reverse()) await fn();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
