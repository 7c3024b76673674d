// Example: redis-semaphore's Mutex and Semaphore used unchanged against quorumlock. Four workers
// share a Semaphore of 2 slots (at most two run at once), then take turns on a Mutex.
// Run: `node dist/examples/semaphore.js` (server on 127.0.0.1:6379, or PORT=...).

import Redis from 'ioredis';
import { Mutex, Semaphore } from 'redis-semaphore';

const port = Number(process.env.PORT ?? 6379);
const host = process.env.HOST ?? '127.0.0.1';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const clients = Array.from({ length: 4 }, () => new Redis({ host, port }));
  await clients[0].del('mutex:example:mutex', 'semaphore:example:pool');

  let running = 0;
  let most = 0;
  await Promise.all(
    clients.map(async (client, i) => {
      const slot = new Semaphore(client, 'example:pool', 2, { lockTimeout: 5000, acquireTimeout: 10_000, retryInterval: 20 });
      await slot.acquire();
      running++;
      most = Math.max(most, running);
      await pause(200);
      running--;
      await slot.release();
      return i;
    }),
  );
  console.log(`semaphore: 4 workers, 2 slots -> at most ${most} ran at the same time`);

  const order: string[] = [];
  await Promise.all(
    clients.map(async (client, i) => {
      const mutex = new Mutex(client, 'example:mutex', { lockTimeout: 5000, acquireTimeout: 10_000, retryInterval: 10 });
      await mutex.acquire();
      order.push(`worker ${i} in`);
      await pause(50);
      order.push(`worker ${i} out`);
      await mutex.release();
    }),
  );
  const overlapped = order.some((entry, k) => entry.endsWith(' in') && k > 0 && order[k - 1].endsWith(' in'));
  console.log(`mutex: ${order.length / 2} workers took turns, overlaps: ${overlapped ? 'YES (broken)' : 'none'}`);

  const mutex = new Mutex(clients[0], 'example:mutex', { lockTimeout: 1000 });
  await mutex.acquire();
  const rival = new Mutex(clients[1], 'example:mutex', { acquireAttemptsLimit: 1 });
  console.log(`mutex held by worker 0; worker 1 tryAcquire -> ${await rival.tryAcquire()}`);
  await mutex.release();
  console.log(`mutex released; worker 1 tryAcquire -> ${await rival.tryAcquire()}`);
  await rival.release();

  for (const client of clients) client.disconnect();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
