// CPU time per acknowledged write on each node of a 3-node cluster (the figure the write-path work
// of issue 6 is steered by): starts the bench's quorumlock target (shipped defaults), runs
// `redis-benchmark SET key:__rand_int__ v NX PX 30000` at the given pipeline depth, and reads
// `INFO cpu` and `INFO raft` from every node before and after. Prints, per node, user and system
// CPU µs per write, and the leader's batching (entries per fsync and per append message).
//
// Run: npx tsc -p . && node dist/bench/cpu_per_write.js [pipeline=1] [requests=150000] [clients=50]
// Profile at the same time: QUORUMLOCK_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node dist/bench/cpu_per_write.js

import { command } from '../test/helpers/cluster';
import { runRedisBenchmark } from './workloads/redis_benchmark';
import { startQuorumlock } from './targets/quorumlock';

const [pipeline = 1, requests = 150_000, clients = 50] = process.argv.slice(2).map(Number);

function fields(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) m.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return m;
}

async function sample(port: number): Promise<Map<string, number>> {
  return fields(String(await command(port, ['INFO', 'cpu'], 5000)) + '\r\n' + String(await command(port, ['INFO', 'raft'], 5000)));
}

async function main(): Promise<void> {
  const target = await startQuorumlock(3);
  try {
    const leader = await target.nodes.leader();
    const ids = target.nodes.ids;
    const before = new Map(await Promise.all(ids.map(async (id) => [id, await sample(target.nodes.port(id))] as const)));
    const r = await runRedisBenchmark(target, { clients, pipeline, requests });
    const after = new Map(await Promise.all(ids.map(async (id) => [id, await sample(target.nodes.port(id))] as const)));
    console.log(`redis-benchmark -c ${clients} -P ${pipeline} -n ${requests}: ${r.requestsPerSec.toFixed(0)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
    for (const id of ids) {
      const d = (name: string): number => (after.get(id)!.get(name) ?? NaN) - (before.get(id)!.get(name) ?? NaN);
      const user = (d('used_cpu_user') * 1e6) / requests;
      const sys = (d('used_cpu_sys') * 1e6) / requests;
      const fsyncs = `${d('raft_fsync_count')} fsyncs, max ${after.get(id)!.get('raft_fsync_max_usec')} µs since start`;
      console.log(`  ${id}${id === leader ? ' (leader)' : ''}: ${(user + sys).toFixed(1)} µs CPU per write (user ${user.toFixed(1)}, sys ${sys.toFixed(1)}); ${fsyncs}`);
    }
    const d = (name: string): number => (after.get(leader)!.get(name) ?? NaN) - (before.get(leader)!.get(name) ?? NaN);
    const perFsync = d('raft_entries_persisted') / d('raft_fsync_count');
    const perAppend = d('raft_entries_in_appends') / d('raft_append_messages_sent');
    const latency = d('raft_write_latency_avg_usec') === 0 ? '' : `; propose -> applied avg ${after.get(leader)!.get('raft_write_latency_avg_usec')} µs since start`;
    console.log(`  leader${latency}`);
    console.log(`  leader: ${perFsync.toFixed(1)} entries per fsync (${d('raft_fsync_count')} fsyncs, ${after.get(leader)!.get('raft_fsync_avg_usec')} µs avg), ${perAppend.toFixed(1)} per append message; ${d('raft_commit_index')} entries committed`);
  } finally {
    await target.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
