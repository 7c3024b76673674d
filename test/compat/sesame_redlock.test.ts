// Proves @sesamecare-oss/redlock 1.4 works unchanged against the target over ioredis 6: once on
// db 0 and once with its `db` setting on db 3, where every script starts with
// redis.pcall("SELECT", db), so the locks must land in database 3. Checks: modern_redlock.ts.

import t from 'tap';
import { Redlock } from '@sesamecare-oss/redlock';
import { startTarget, ioredisClient } from './target';
import { modernRedlockSuite } from './modern_redlock';

t.test('@sesamecare-oss/redlock on ioredis 6, db 0', async (t) => {
  const target = await startTarget(t);
  await modernRedlockSuite(t, target, 'sesame', (client, settings) => new Redlock([client], settings));
});

t.test('@sesamecare-oss/redlock on ioredis 6, db 3 (SELECT inside its scripts)', async (t) => {
  const target = await startTarget(t);
  await modernRedlockSuite(t, target, 'sesame3', (client, settings) => new Redlock([client], { ...settings, db: 3 }), 3);
});

t.test('@sesamecare-oss/redlock with db 3 on a client connected to db 0', async (t) => {
  const target = await startTarget(t);
  const db0 = await ioredisClient(t, target);
  const db3 = await ioredisClient(t, target, { db: 3 });
  const redlock = new Redlock([db0], { retryCount: 0, db: 3 });
  const lock = await redlock.acquire(['sesame-db:res'], 10_000);
  t.equal(await db3.get('sesame-db:res'), lock.value, 'the lock is in db 3');
  t.equal(await db0.exists('sesame-db:res'), 0, 'and not in db 0');
  await lock.extend(20_000);
  t.ok((await db3.pttl('sesame-db:res')) > 10_000, 'extend reached db 3');
  await lock.release();
  t.equal(await db3.exists('sesame-db:res'), 0, 'release reached db 3');
});
