// Proves durability from the user's side: writes acknowledged before a kill -9 are all there
// after a restart on the same data dir, and SIGTERM shuts down cleanly (exit 0) after answering
// the writes in flight. Real processes, real disk.

import t from 'tap';
import Redis from 'ioredis';
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
