// Micro-benchmark of the pure Raft core: a 3-node cluster in memory (no disk, no network, messages
// handed over synchronously, the driver loop ready -> "persist" -> deliver -> apply -> advance),
// clients proposing 64-byte commands in batches. Prints entries committed per second on every
// node and the core's cost per proposal in microseconds (all three nodes' work, divided by
// proposals). Run: npx tsc -p . && node dist/bench/raft_core.js [proposals] [batch]

import { RaftNode } from '../src/raft/raft_node';
import type { Message } from '../src/raft/types';

function main(): void {
  const total = Number(process.argv[2] ?? 200_000);
  const batch = Number(process.argv[3] ?? 64);
  const ids = ['a', 'b', 'c'];
  let seed = 42;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const nodes = new Map<string, RaftNode>();
  const applied = new Map<string, number>();
  for (const id of ids) {
    nodes.set(id, new RaftNode(
      { id, electionTicks: 10, heartbeatTicks: 1, random, preVote: true, checkQuorum: true, readOnly: 'safe', maxInflightMsgs: 256, maxEntriesBytesPerMsg: 1 << 20, maxUncommittedBytes: 1 << 30, snapshotChunkBytes: 1 << 20 },
      { hardState: { term: 0, vote: '', commit: 0 }, snapshotMeta: null, entries: [], conf: { voters: ids, learners: [], votersOutgoing: [] } },
    ));
    applied.set(id, 0);
  }
  let queue: Message[] = [];
  const drain = () => {
    for (const [id, n] of nodes) {
      while (n.hasReady()) {
        const rd = n.ready();
        for (const m of rd.messages) queue.push(m);
        applied.set(id, applied.get(id)! + rd.committedEntries.length);
        n.advance();
      }
    }
  };
  const stabilize = () => {
    drain();
    while (queue.length > 0) {
      const q = queue;
      queue = [];
      for (const m of q) nodes.get(m.to)!.step(m);
      drain();
    }
  };
  const leader = nodes.get('a')!;
  leader.campaign();
  stabilize();
  const payload = new Uint8Array(64).fill(7);
  const startApplied = Math.min(...applied.values());
  const started = process.hrtime.bigint();
  let proposed = 0;
  while (proposed < total) {
    for (let i = 0; i < batch && proposed < total; i++, proposed++) {
      const r = leader.propose(payload);
      if (!r.ok) throw new Error(`proposal refused: ${r.reason}`);
    }
    stabilize();
  }
  for (const n of nodes.values()) n.tick(); // the last commit index reaches followers
  stabilize();
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  const committedEverywhere = Math.min(...applied.values()) - startApplied;
  console.log(`raft core, 3 nodes in memory, ${total} proposals of 64 bytes in batches of ${batch}:`);
  console.log(`  ${Math.round(committedEverywhere / secs).toLocaleString('en-US')} entries committed and applied on all 3 nodes per second`);
  console.log(`  ${((secs * 1e6) / total).toFixed(2)} µs of core work per proposal (leader + 2 followers)`);
}

main();
