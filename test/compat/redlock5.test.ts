// Proves redlock@5.0.0-beta.2 (ioredis-only; needs integer script replies, as a JS number) works
// unchanged against the target over ioredis 6 (RESP3): see modern_redlock.ts for the checks.

import t from 'tap';
import Redlock from 'redlock5';
import { startTarget } from './target';
import { modernRedlockSuite } from './modern_redlock';

t.test('redlock 5.0.0-beta.2 on ioredis 6', async (t) => {
  const target = await startTarget(t);
  await modernRedlockSuite(t, target, 'rl5', (client, settings) => new Redlock([client], settings));
});
