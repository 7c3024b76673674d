// Proves durability from the user's side: writes acknowledged before a kill -9 are all there
// after a restart on the same data dir, and SIGTERM shuts down cleanly (exit 0) after answering
// the writes in flight. Real processes, real disk.

import t from 'tap';
import Redis from 'ioredis';
import { infoSection } from '../helpers/cluster';
import { startServerProcess, waitFor } from '../helpers/servers';

t.test('kill -9 during a write load loses no acknowledged write', async (t) => {
  const first = await startServerProcess(t);
  const acknowledged: string[] = [];
  const clients = Array.from({ length: 8 }, () => new Redis({ port: first.port, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null }));
  for (const c of clients) c.on('error', () => undefined);
  await Promise.all(clients.map((c) => new Promise((resolve) => c.once('ready', resolve))));
  let stop = false;
  const loads = clients.map(async (redis, worker) => {
    for (let i = 0; !stop; i++) {
      const key = `w${worker}:${i}`;
      try {
        await redis.set(key, `v${i}`);
        acknowledged.push(key);
      } catch {
        return; // the server is gone
      }
    }
  });
  await waitFor('2000 acknowledged writes', () => acknowledged.length >= 2000, 60_000);
  first.child.kill('SIGKILL');
  stop = true;
  await Promise.all(loads);
  await first.exited;
  for (const c of clients) c.disconnect();

  const second = await startServerProcess(t, { dataDir: first.dataDir });
  const redis = new Redis({ port: second.port });
  t.teardown(() => redis.disconnect());
  let missing = 0;
  for (let i = 0; i < acknowledged.length; i += 500) {
    const batch = acknowledged.slice(i, i + 500);
    const values = await redis.mget(...batch);
    values.forEach((v) => {
      if (v === null) missing++;
    });
  }
  t.equal(missing, 0, `all ${acknowledged.length} acknowledged writes survived kill -9`);
});

t.test('SIGTERM answers in-flight writes, then exits 0, and the data is there on restart', async (t) => {
  const first = await startServerProcess(t);
  const redis = new Redis({ port: first.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  await new Promise((resolve) => redis.once('ready', resolve));
  let firstReply!: () => void;
  const firstReplied = new Promise<void>((resolve) => (firstReply = resolve));
  const writes = Array.from({ length: 2000 }, (_, i) =>
    redis.set(`t${i}`, String(i)).then(
      () => (firstReply(), i),
      () => -1,
    ),
  );
  await firstReplied; // the load is flowing: stop the server in the middle of it
  first.child.kill('SIGTERM');
  const results = await Promise.all(writes);
  t.equal(await first.exited, 0, 'clean exit code');
  redis.disconnect();
  const done = results.filter((i) => i >= 0);
  const second = await startServerProcess(t, { dataDir: first.dataDir });
  const check = new Redis({ port: second.port });
  t.teardown(() => check.disconnect());
  t.ok(done.length > 0, `${done.length} writes were acknowledged before the shutdown`);
  const values = await check.mget(...done.map((i) => `t${i}`));
  t.same(values, done.map(String), `every acknowledged write (${done.length}) is there after the restart`);
});

t.test('--test-unsafe-no-fsync: the node says its log is not synced, syncs nothing, and a process crash still loses nothing', async (t) => {
  const safe = await startServerProcess(t);
  const safeClient = new Redis({ port: safe.port });
  t.teardown(() => safeClient.disconnect());
  await safeClient.set('k', 'v');
  const safeInfo = await infoSection(safe.port, 'persistence');
  t.equal(safeInfo.raft_log_fsync, 'always', 'by default every log write is synced');
  t.ok(Number(safeInfo.raft_fsync_count) > 0, 'and fsyncs are counted');

  const unsafe = await startServerProcess(t, { args: ['--test-unsafe-no-fsync'] });
  t.match(unsafe.output(), /never synced \(--test-unsafe-no-fsync\)/, 'a warning at start says so');
  const client = new Redis({ port: unsafe.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  t.equal((await infoSection(unsafe.port, 'persistence')).raft_log_fsync, 'no');
  t.same(await client.config('GET', 'appendfsync'), ['appendfsync', 'no']);
  const keys = Array.from({ length: 500 }, (_, i) => `u${i}`);
  await Promise.all(keys.map((key, i) => client.set(key, String(i))));
  t.equal((await infoSection(unsafe.port, 'persistence')).raft_fsync_count, '0', 'no write was synced');
  client.disconnect();
  unsafe.child.kill('SIGKILL');
  await unsafe.exited;

  // The page cache outlives the process: only a kernel crash or a power loss could lose these.
  const again = await startServerProcess(t, { dataDir: unsafe.dataDir });
  const check = new Redis({ port: again.port });
  t.teardown(() => check.disconnect());
  t.same(await check.mget(...keys), keys.map((_, i) => String(i)), 'all 500 acknowledged writes are there after kill -9');
});
