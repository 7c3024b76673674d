// Proves a Sentinel master name asked about on one node is announced by the others: when the leader
// dies, a survivor that no client ever asked still publishes +switch-master under that name (the
// nodes tell each other the names in their hellos). With fast failover the new leader is elected
// before reconnecting clients have asked the survivors anything, so only names learned this way
// reach a client subscribed to such a node.

import t from 'tap';
import Redis from 'ioredis';
import { Cluster, command } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';

t.test('a master name asked on one node is named in +switch-master by another', async (t) => {
  const cluster = await Cluster.start(t);
  const leader = await cluster.leader();
  const [asked, silent] = cluster.aliveIds().filter((id) => id !== leader.id);
  t.same(await command(cluster.node(asked).port, ['SENTINEL', 'get-master-addr-by-name', 'payments']), ['127.0.0.1', String(leader.port)], `${asked} was asked about 'payments'`);

  const switches: string[] = [];
  const subscriber = new Redis({ port: cluster.node(silent).port, retryStrategy: () => null });
  t.teardown(() => subscriber.disconnect());
  subscriber.on('error', () => undefined);
  subscriber.on('message', (_channel: string, message: string) => switches.push(message));
  await subscriber.subscribe('+switch-master');

  // The name reaches the silent node with the asked node's hello (sent at once on a new name).
  const listed = async () => {
    const masters = (await command(cluster.node(silent).port, ['SENTINEL', 'masters'])) as string[][];
    return masters.map((fields) => fields[fields.indexOf('name') + 1]);
  };
  await waitFor(`${silent} to list 'payments' in SENTINEL MASTERS`, async () => (await listed()).includes('payments'), 5_000).catch(() => undefined);
  t.same(await listed(), ['quorumlock', 'payments'], `${silent} lists the configured name, then the one asked on ${asked}`);
  await cluster.kill(leader.id);
  const fresh = await cluster.leader([asked, silent]);
  const named = (m: string) => m.startsWith('payments ') && m.endsWith(` 127.0.0.1 ${fresh.port}`);
  await waitFor(`+switch-master naming 'payments' from ${silent}`, () => switches.some(named), 10_000).catch(() => undefined);
  t.ok(switches.some(named), `${silent}, never asked, names 'payments' and the new leader: ${JSON.stringify(switches)}`);
});
