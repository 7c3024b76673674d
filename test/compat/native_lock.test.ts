// Proves quorumlock's native lock commands give what a user relies on, through ioredis 6 as any
// application would send them: LOCK grants a fencing token (or nil while another owner holds the
// lock), HEARTBEAT extends only for the owner, UNLOCK releases only for the owner, LOCKINFO shows
// the holder, an unrenewed lock expires, and with 20 contenders the tokens strictly increase from
// one grant to the next, two owners never hold the lock at once, and a resource that remembers
// the highest token it has seen rejects a writer whose lock expired. Skipped on redis-server,
// which has no such commands.

import t from 'tap';
import type Redis from 'ioredis';
import { startTarget, ioredisClient, targetKind } from './target';
import { runContention, acquireRetrying, expectExpiry, SHORT_TTL_MS, CONTENDERS, type Contender } from './harness';

const skip = targetKind() === 'redis' ? 'redis-server has no native LOCK commands' : false;

const lock = (c: Redis, key: string, owner: string, ttlMs: number) => c.call('LOCK', key, owner, String(ttlMs)) as Promise<number | null>;
const unlock = (c: Redis, key: string, owner: string) => c.call('UNLOCK', key, owner) as Promise<number>;
const heartbeat = (c: Redis, key: string, owner: string, ttlMs: number) => c.call('HEARTBEAT', key, owner, String(ttlMs)) as Promise<number>;

/** LOCKINFO as a plain object, whether it came as a RESP3 map or a RESP2 flat array. */
async function lockInfo(c: Redis, key: string): Promise<Record<string, unknown> | null> {
  const reply = (await c.call('LOCKINFO', key)) as unknown;
  if (reply === null) return null;
  if (Array.isArray(reply)) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) info[String(reply[i])] = reply[i + 1];
    return info;
  }
  return reply as Record<string, unknown>;
}

/** The storage a lock protects: it rejects any write carrying a token older than one it has seen. */
class FencedResource {
  highestToken = 0;
  readonly writes: string[] = [];

  write(token: number, value: string): boolean {
    if (token < this.highestToken) return false;
    this.highestToken = token;
    this.writes.push(value);
    return true;
  }
}

t.test('native LOCK / HEARTBEAT / UNLOCK / LOCKINFO', { skip }, async (t) => {
  const target = await startTarget(t);

  await t.test('grant, refuse, heartbeat, release', async (t) => {
    const a = await ioredisClient(t, target);
    const b = await ioredisClient(t, target);
    const token = (await lock(a, 'job', 'alice', 1000))!;
    t.type(token, 'number', 'LOCK replies a fencing token');
    t.equal(await lock(b, 'job', 'bob', 1000), null, 'another owner gets nil');
    const info = await lockInfo(b, 'job');
    t.equal(info?.owner, 'alice', 'LOCKINFO names the holder');
    t.equal(Number(info?.token), token, 'and its token');
    t.equal(await heartbeat(b, 'job', 'bob', 60_000), 0, 'a non-owner cannot heartbeat');
    t.equal(await heartbeat(a, 'job', 'alice', 60_000), 1, 'the owner can');
    const pttl = await a.pttl('job');
    t.ok(pttl > 30_000 && pttl <= 60_000, `HEARTBEAT moved the expiry to ~60 s (PTTL ${pttl})`);
    t.equal(await unlock(b, 'job', 'bob'), 0, 'a non-owner cannot release');
    t.equal(await unlock(a, 'job', 'alice'), 1, 'the owner can');
    t.equal(await lockInfo(a, 'job'), null, 'LOCKINFO is nil once released');
    const next = await lock(b, 'job', 'bob', 1000);
    t.ok(next !== null && next > token, `the next grant has a larger token (${token} then ${next})`);
    await unlock(b, 'job', 'bob');
  });

  await t.test('an unrenewed lock expires; the stale holder is fenced off', async (t) => {
    const a = await ioredisClient(t, target);
    const b = await ioredisClient(t, target);
    const resource = new FencedResource();
    const oldToken = (await lock(a, 'lease', 'alice', SHORT_TTL_MS))!;
    t.ok(resource.write(oldToken, 'alice-1'), 'the holder writes');
    let newToken: number | null = null;
    const { heldAtFirst } = await expectExpiry(async () => (newToken = await lock(b, 'lease', 'bob', 10_000)) !== null, SHORT_TTL_MS);
    t.ok(heldAtFirst, 'held before the TTL ran out');
    t.ok(newToken! > oldToken, 'the new owner has a larger token');
    t.ok(resource.write(newToken!, 'bob-1'), 'the new owner writes');
    t.equal(resource.write(oldToken, 'alice-2'), false, 'the old owner, unaware its lock expired, is rejected by the resource');
    t.equal(await heartbeat(a, 'lease', 'alice', 10_000), 0, 'the old owner cannot heartbeat');
    t.equal(await unlock(a, 'lease', 'alice'), 0, 'nor release the new owner’s lock');
    t.same(resource.writes, ['alice-1', 'bob-1']);
    await unlock(b, 'lease', 'bob');
  });

  await t.test(`${CONTENDERS} contenders: tokens strictly increase, one holder at a time`, async (t) => {
    const resource = new FencedResource();
    let lastToken = 0;
    let tokensGrew = true;
    let rejectedWrites = 0;
    let failedUnlocks = 0;
    const contenders: Contender[] = [];
    for (let i = 0; i < CONTENDERS; i++) {
      const client = await ioredisClient(t, target);
      const owner = `worker-${i}`;
      contenders.push({
        withLock: async (critical) => {
          const token = await acquireRetrying('the native lock', () => lock(client, 'counter-lock', owner, 10_000));
          try {
            if (!(token > lastToken)) tokensGrew = false;
            lastToken = token;
            if (!resource.write(token, `${owner}:${token}`)) rejectedWrites++;
            await critical();
          } finally {
            if ((await unlock(client, 'counter-lock', owner)) !== 1) failedUnlocks++;
          }
        },
      });
    }
    const result = await runContention(t, target, 'native:counter', contenders);
    t.equal(result.maxConcurrent, 1, 'never two holders at once');
    t.equal(result.count, result.expected, `counter is exactly ${result.expected}`);
    t.ok(tokensGrew, 'every grant had a larger token than the grant before it');
    t.equal(failedUnlocks, 0, 'every holder could release its own lock');
    t.equal(rejectedWrites, 0, 'no holder was fenced off (no lock expired under it)');
    t.equal(resource.writes.length, result.expected, 'one fenced write per grant');
  });
});
