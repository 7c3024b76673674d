// Example: quorumlock's native lock commands with fencing tokens. A worker takes a lease with
// LOCK (getting a fencing token), renews it with HEARTBEAT, stalls past its TTL, and when it wakes
// up its write is rejected by the storage because the next holder's token is larger.
// Run: `node dist/examples/native_lock.js` (quorumlock on 127.0.0.1:6379, or PORT=...).

import Redis from 'ioredis';

const port = Number(process.env.PORT ?? 6379);
const host = process.env.HOST ?? '127.0.0.1';

/** Storage that remembers the highest fencing token it has seen and refuses older ones. */
class FencedStorage {
  private highestToken = 0;
  write(token: number, who: string, value: string): void {
    if (token < this.highestToken) {
      console.log(`storage: REJECTED ${who}'s write "${value}" (token ${token} < ${this.highestToken})`);
      return;
    }
    this.highestToken = token;
    console.log(`storage: accepted ${who}'s write "${value}" (token ${token})`);
  }
}

async function main(): Promise<void> {
  const client = new Redis({ host, port });
  const call = (...args: (string | number)[]) => client.call(args[0] as string, ...args.slice(1).map(String));
  const storage = new FencedStorage();
  await call('UNLOCK', 'example:job', 'worker-1');
  await call('UNLOCK', 'example:job', 'worker-2');

  const token1 = (await call('LOCK', 'example:job', 'worker-1', 500)) as number;
  console.log(`worker-1: LOCK example:job -> token ${token1}`);
  console.log(`worker-2: LOCK example:job -> ${await call('LOCK', 'example:job', 'worker-2', 500)} (held by worker-1)`);
  storage.write(token1, 'worker-1', 'step 1');
  console.log(`worker-1: HEARTBEAT -> ${await call('HEARTBEAT', 'example:job', 'worker-1', 500)}`);
  const info = (await call('LOCKINFO', 'example:job')) as unknown[] | Record<string, unknown>;
  // RESP3 sends a map; some clients hand it over as a flat [field, value, ...] list.
  const fields = Array.isArray(info) ? Object.fromEntries(info.flatMap((v, i) => (i % 2 === 0 ? [[String(v), info[i + 1]]] : []))) : info;
  console.log(`LOCKINFO example:job -> owner ${fields.owner}, token ${fields.token}, ttl_ms ${fields.ttl_ms}`);

  console.log('worker-1 stalls (a long GC pause) and its lease runs out...');
  let token2: number | null = null;
  while (token2 === null) {
    token2 = (await call('LOCK', 'example:job', 'worker-2', 5000)) as number | null;
    if (token2 === null) await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`worker-2: LOCK example:job -> token ${token2}`);
  storage.write(token2, 'worker-2', 'step 1 (redo)');

  storage.write(token1, 'worker-1', 'step 2');
  console.log(`worker-1: HEARTBEAT -> ${await call('HEARTBEAT', 'example:job', 'worker-1', 500)} (its lease is gone)`);
  console.log(`worker-1: UNLOCK -> ${await call('UNLOCK', 'example:job', 'worker-1')} (cannot release worker-2's lock)`);
  console.log(`worker-2: UNLOCK -> ${await call('UNLOCK', 'example:job', 'worker-2')}`);
  client.disconnect();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
