// Where a quorumlock node's memory per held lock goes (the follow-up to workload 5, whose target
// is < 400 bytes of RSS per lock per node). Starts one single-node `quorumlock serve` with the
// default settings under `node --heapsnapshot-signal=SIGUSR2`, reads its RSS, loads N locks the way
// workload 5 does (LOCK lock:<i> <32 hex> 600000, pipelined), reads RSS and INFO memory again,
// then has the node write a heap snapshot (V8 collects garbage first, so it holds live objects
// only) and sums the snapshot's self sizes per constructor / object type, and for the largest
// groups the edges that hold them (the retainers: which field or collection points at them).
//
// Run: npx tsc -p . && node dist/bench/heap_profile.js [N=100000] [--keep] [--idle-seconds S]
//   (--keep: leave the .heapsnapshot; --idle-seconds: also print RSS every 2.5 s for S s of idleness)

import * as fs from 'node:fs';
import * as path from 'node:path';
import Redis from 'ioredis';
import { binPath, freePort, launcherEnv, tempDir, waitFor, ping } from '../test/helpers/servers';
import { rssBytes } from './targets/target';
import { spawnTracked, trackDir } from './targets/processes';
import { lockKey, lockOwner } from './workloads/memory';

const N = Number(process.argv[2] !== undefined && /^\d+$/.test(process.argv[2]) ? process.argv[2] : 100_000);
const keep = process.argv.includes('--keep');
const idleAt = process.argv.indexOf('--idle-seconds');
const idleSeconds = idleAt === -1 ? 0 : Number(process.argv[idleAt + 1]);
const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Self size per group (constructor name for objects, the type for strings, arrays, code...), and who points at the big ones. */
function analyse(file: string, perLock: number): string {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
  const nf = snap.snapshot.meta.node_fields;
  const ef = snap.snapshot.meta.edge_fields;
  const nodeTypes = snap.snapshot.meta.node_types[0];
  const edgeTypes = snap.snapshot.meta.edge_types[0];
  const NF = nf.length;
  const EF = ef.length;
  const [iType, iName, iSelf, iEdgeCount] = ['type', 'name', 'self_size', 'edge_count'].map((f) => nf.indexOf(f));
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f));
  const nodeCount = snap.nodes.length / NF;
  const groupOf = (n: number): string => {
    const type = nodeTypes[snap.nodes[n * NF + iType]];
    const name = snap.strings[snap.nodes[n * NF + iName]];
    if (type === 'object' || type === 'closure') return `${type === 'closure' ? 'closure ' : ''}${name}`;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return `(${type})`;
    if (type === 'array' || type === 'hidden' || type === 'code') return `(${type}) ${name.length > 40 ? name.slice(0, 40) + '…' : name}`;
    return `(${type})`;
  };
  const groups = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  for (let n = 0; n < nodeCount; n++) {
    const self = snap.nodes[n * NF + iSelf];
    total += self;
    const g = groupOf(n);
    const entry = groups.get(g) ?? { bytes: 0, count: 0 };
    entry.bytes += self;
    entry.count++;
    groups.set(g, entry);
  }
  const top = [...groups.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 15);
  // Retainers of the top groups: (retaining group . edge name) -> bytes of the retained nodes.
  const topNames = new Set(top.slice(0, 8).map(([g]) => g));
  const retainers = new Map<string, Map<string, number>>();
  let edgeBase = 0;
  for (let n = 0; n < nodeCount; n++) {
    const edges = snap.nodes[n * NF + iEdgeCount];
    const from = groupOf(n);
    for (let e = edgeBase; e < edgeBase + edges * EF; e += EF) {
      const to = snap.edges[e + eTo] / NF;
      const g = groupOf(to);
      if (!topNames.has(g)) continue;
      const type = edgeTypes[snap.edges[e + eType]];
      if (type === 'weak' || type === 'shortcut') continue;
      const label = type === 'element' || type === 'hidden' ? `[${type}]` : String(snap.strings[snap.edges[e + eName]]);
      const key = `${from} . ${label}`;
      const m = retainers.get(g) ?? new Map<string, number>();
      m.set(key, (m.get(key) ?? 0) + snap.nodes[to * NF + iSelf]);
      retainers.set(g, m);
    }
    edgeBase += edges * EF;
  }
  const lines = [`heap snapshot: ${mib(total)} live (${(total / perLock).toFixed(0)} bytes per lock)`, '', '| group (constructor / type) | count | self MiB | bytes per lock | largest retainers (holder . field: MiB) |', '|---|---:|---:|---:|---|'];
  for (const [g, { bytes, count }] of top) {
    const r = [...(retainers.get(g)?.entries() ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k}: ${(v / 1048576).toFixed(1)}`).join('; ');
    lines.push(`| ${g.replace(/\|/g, '\\|')} | ${count} | ${(bytes / 1048576).toFixed(1)} | ${(bytes / perLock).toFixed(0)} | ${r.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const dir = trackDir(tempDir('quorumlock-heap-'));
  const port = await freePort();
  const node = spawnTracked(binPath, ['serve', '--port', String(port), '--raft-port', String(await freePort()), '--data-dir', path.join(dir, 'data')], {
    cwd: dir,
    env: launcherEnv(['--heapsnapshot-signal=SIGUSR2']),
  });
  try {
    await waitFor('the node to serve', async () => {
      if (node.child.exitCode !== null) throw new Error(node.log());
      return ping(port);
    }, 20_000, 50);
    const redis = new Redis({ port, maxRetriesPerRequest: 0 });
    await waitFor('a leader', async () => (await redis.call('LOCK', 'warmup', 'w', '1000')) !== null, 20_000, 50);
    await new Promise((r) => setTimeout(r, 1000));
    const pid = node.child.pid!;
    const before = rssBytes(pid);
    for (let first = 0; first < N; first += 1000) {
      const p = redis.pipeline();
      for (let i = first; i < Math.min(N, first + 1000); i++) p.call('LOCK', lockKey(i), lockOwner(i), '600000');
      await p.exec();
    }
    await new Promise((r) => setTimeout(r, 2000));
    const after = rssBytes(pid);
    // How RSS falls once the node is idle (V8's memory reducer starts after ~8 s without allocation).
    const series: string[] = [];
    for (let s = 0; s < idleSeconds; s += 2.5) {
      await new Promise((r) => setTimeout(r, 2500));
      series.push(`${s + 2.5 + 2} s: ${((rssBytes(pid) - before) / N).toFixed(0)}`);
    }
    if (series.length) console.log(`RSS bytes per lock after the load, idle: ${series.join(', ')}`);
    const info = String(await redis.info('memory'));
    const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    console.log(info.split('\r\n').filter((l) => /^used_memory_(rss|vm_)/.test(l)).map((l) => { const [k, v] = l.split(':'); return `${k.replace('used_memory_', '')} ${(Number(v) / 1048576).toFixed(1)} MiB`; }).join(', '));
    const raft = String(await redis.call('INFO', 'raft'));
    redis.disconnect();
    console.log(`${N} locks on one node: RSS ${mib(before)} -> ${mib(after)} = ${((after - before) / N).toFixed(0)} bytes per lock; INFO used_memory (heapUsed + external) ${mib(field('used_memory'))} = ${(field('used_memory') / N).toFixed(0)} bytes per lock`);
    console.log(raft.split('\r\n').filter((l) => /index|snapshot|log/.test(l)).join(', '));
    node.child.kill('SIGUSR2');
    let lastSize = -1;
    const file = await waitFor('the heap snapshot', () => {
      const f = fs.readdirSync(dir).find((name) => name.endsWith('.heapsnapshot'));
      if (!f) return '';
      // Done once its size stops changing between two polls.
      const size = fs.statSync(path.join(dir, f)).size;
      const done = size > 0 && size === lastSize;
      lastSize = size;
      return done ? path.join(dir, f) : '';
    }, 120_000, 1000);
    const redis2 = new Redis({ port, maxRetriesPerRequest: 0 });
    const info2 = String(await redis2.info('memory'));
    redis2.disconnect();
    const usedAfterGc = Number(/^used_memory:(\d+)/m.exec(info2)?.[1] ?? NaN);
    console.log(`after the snapshot's full GC: used_memory ${mib(usedAfterGc)} = ${(usedAfterGc / N).toFixed(0)} bytes per lock; RSS ${mib(rssBytes(pid))} (the snapshot's own buffers included)`);
    console.log(analyse(file, N));
    if (keep) console.log(`kept ${file}`);
  } finally {
    await node.stop();
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
