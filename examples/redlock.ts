// Example: the redlock library (npm `redlock`, 4.2.0) used unchanged against quorumlock, with a
// fenced write: the protected write is a small Lua script that only writes while the writer's
// lock value is still the one stored, so a holder whose lock expired cannot overwrite the work of
// the next holder. Run: `node dist/examples/redlock.js` (server on 127.0.0.1:6379, or PORT=...).

import Redis from 'ioredis';
import Redlock from 'redlock';

const port = Number(process.env.PORT ?? 6379);
const host = process.env.HOST ?? '127.0.0.1';

// Writes KEYS[2] = ARGV[2] only if the lock KEYS[1] still holds this holder's value ARGV[1].
const fencedWrite = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[2], ARGV[2])
  return 1
end
return 0`;

async function main(): Promise<void> {
  const alice = new Redis({ host, port });
  const bob = new Redis({ host, port });
  await alice.del('example:report', 'example:report-lock');
  const redlockA = new Redlock([alice], { retryCount: 10, retryDelay: 100, retryJitter: 50 });
  const redlockB = new Redlock([bob], { retryCount: 0 });
  const write = (client: Redis, value: string, text: string) => client.eval(fencedWrite, 2, 'example:report-lock', 'example:report', value, text);

  const lock = await redlockA.lock('example:report-lock', 2000);
  console.log(`alice acquired example:report-lock for 2000 ms (value ${lock.value})`);
  try {
    await redlockB.lock('example:report-lock', 2000);
    console.log('bob acquired it too: THIS SHOULD NOT HAPPEN');
  } catch (error) {
    console.log(`bob could not acquire it: ${(error as Error).name}`);
  }

  await lock.extend(10_000);
  console.log(`alice extended the lock; it now expires in ~${Math.round((await alice.pttl('example:report-lock')) / 1000)} s`);
  console.log(`alice's fenced write accepted: ${(await write(alice, lock.value, 'written by alice')) === 1}`);
  await lock.unlock();
  console.log('alice released the lock');

  // A lock that is not extended expires: alice takes a 300 ms lock and then stalls.
  const stale = await redlockA.lock('example:report-lock', 300);
  console.log('alice acquired a 300 ms lock and stalls (no extend)...');
  let bobs: { value: string; unlock(): Promise<unknown> } | null = null;
  while (!bobs) {
    bobs = await redlockB.lock('example:report-lock', 5000).catch(() => null);
    if (!bobs) await new Promise((r) => setTimeout(r, 50));
  }
  console.log('the lock expired and bob acquired it');
  console.log(`bob's fenced write accepted: ${(await write(bob, bobs.value, 'written by bob')) === 1}`);
  console.log(`alice's late fenced write accepted: ${(await write(alice, stale.value, 'late write by alice')) === 1}`);
  console.log(`example:report = ${JSON.stringify(await alice.get('example:report'))}`);
  await bobs.unlock();

  await redlockA.quit();
  await redlockB.quit();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
