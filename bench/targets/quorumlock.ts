// A 3-node quorumlock cluster on loopback with the default (synced) durability, started with the
// e2e tests' Cluster helper (free ports, temp data dirs). Its processes are also registered with
// ./processes so Ctrl-C or a crash of the benchmark kills them.

import { Cluster } from '../../test/helpers/cluster';
import { trackChild } from './processes';
import type { Target } from './target';

export async function startQuorumlock(nodes = 3): Promise<Target> {
  const teardowns: Array<() => unknown> = [];
  const harness = { teardown: (fn: () => unknown) => teardowns.push(fn), passing: () => true, comment: (...a: unknown[]) => console.log(...a) };
  const stop = async (): Promise<void> => {
    for (const fn of teardowns.splice(0).reverse()) await fn();
  };
  try {
    const cluster = await Cluster.start(harness, { nodes });
    for (const node of cluster.nodes.values()) if (node.child) trackChild(node.child);
    const leader = await cluster.leader();
    return { name: 'quorumlock', kind: 'quorumlock', host: '127.0.0.1', port: leader.port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
