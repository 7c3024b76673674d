// When a node snapshots its state and compacts its log (raft_driver.ts maybeSnapshot): after
// --snapshot-entries applied entries, or after --snapshot-entries-min once the entries since the
// last snapshot hold more bytes than it. A small state is compacted early (its log would only
// cost memory and GC); a state larger than its log waits for --snapshot-entries (a snapshot would
// cost more than the log it replaces).

import t from 'tap';
import Redis from 'ioredis';
import { startServerProcess, waitFor } from '../helpers/servers';

const ENTRIES_MIN = 200;
const ENTRIES = 2000;
const BATCH = 100;

async function snapshotIndex(redis: Redis): Promise<number> {
  const info = await redis.info('raft');
  const match = /raft_snapshot_index:(\d+)/.exec(info);
  if (!match) throw new Error(`no raft_snapshot_index in INFO raft:\n${info}`);
  return Number(match[1]);
}

/**
 * `count` writes that leave the state as small as it was (SETs over 10 keys), in pipelined
 * batches; the snapshot index seen after each batch is passed to `seen`.
 */
async function smallWrites(redis: Redis, count: number, seen: (index: number) => void = () => undefined): Promise<void> {
  for (let done = 0; done < count; done += BATCH) {
    const pipeline = redis.pipeline();
    for (let i = done; i < Math.min(count, done + BATCH); i++) pipeline.set(`small:${i % 10}`, String(i));
    for (const [error] of (await pipeline.exec())!) if (error) throw error;
    seen(await snapshotIndex(redis));
  }
}

t.test('a small state is compacted after --snapshot-entries-min entries, long before --snapshot-entries', async (t) => {
  const server = await startServerProcess(t, { args: ['--snapshot-entries', '100000', '--snapshot-entries-min', String(ENTRIES_MIN)] });
  const redis = new Redis({ port: server.port });
  t.teardown(() => redis.disconnect());
  t.equal(await snapshotIndex(redis), 0, 'no snapshot at the start');
  // Either threshold is stretched by up to 25% by a hash of the node id.
  await smallWrites(redis, Math.ceil(ENTRIES_MIN * 1.25) + BATCH);
  await waitFor('a snapshot', async () => (await snapshotIndex(redis)) > 0, 15_000, 20);
  const index = await snapshotIndex(redis);
  t.ok(index >= ENTRIES_MIN && index < 1000, `snapshot at index ${index}: after --snapshot-entries-min ${ENTRIES_MIN} entries, not 100,000`);
  t.equal(await redis.get('small:9'), String(Math.ceil(ENTRIES_MIN * 1.25) + BATCH - 1), 'the state is intact');
});

t.test('a state larger than its log is compacted only after --snapshot-entries', async (t) => {
  const server = await startServerProcess(t, { args: ['--snapshot-entries', String(ENTRIES), '--snapshot-entries-min', String(ENTRIES_MIN)] });
  const redis = new Redis({ port: server.port });
  t.teardown(() => redis.disconnect());
  // 400 KB of state: the first snapshot (the log since the start holds it too) is that large, and
  // the small writes after it add about 30 bytes of log each.
  await redis.set('large', 'x'.repeat(400 * 1024));
  await smallWrites(redis, Math.ceil(ENTRIES_MIN * 1.25) + BATCH);
  await waitFor('the first snapshot', async () => (await snapshotIndex(redis)) > 0, 15_000, 20);
  const first = await snapshotIndex(redis);
  const changes: number[] = [];
  await smallWrites(redis, Math.ceil(ENTRIES * 1.25) + 2 * BATCH, (index) => {
    if (index !== first && !changes.includes(index)) changes.push(index);
  });
  await waitFor('the next snapshot', async () => (await snapshotIndex(redis)) > first, 15_000, 20);
  if (changes.length === 0) changes.push(await snapshotIndex(redis));
  t.ok(changes[0] - first >= ENTRIES, `the next snapshot came ${changes[0] - first} entries after the first (at ${first}), not before ${ENTRIES}; seen: ${changes.join(', ')}`);
  t.equal((await redis.get('large'))?.length, 400 * 1024, 'the large value is intact');
});
