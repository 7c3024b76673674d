// Proves the real clients users run work unchanged against a real quorumlock process:
// ioredis 6 (RESP3 by default), node-redis 6 (RESP3, no fallback), redis-cli (RESP2 and -3) and
// redis-benchmark. The server runs as `bin/quorumlock serve` on free ports.

import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { createClient } from 'redis';
import { startServerProcess } from '../helpers/servers';

const run = promisify(execFile);

t.test('ioredis 6 over RESP3: strings, TTLs, locks with fencing tokens', async (t) => {
  const server = await startServerProcess(t);
  const redis = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true });
  t.teardown(() => redis.disconnect());
  await redis.connect();
  t.equal(await redis.set('a', 'hello', 'PX', 60_000, 'NX'), 'OK');
  t.equal(await redis.set('a', 'other', 'PX', 60_000, 'NX'), null, 'NX refuses a held key');
  t.equal(await redis.get('a'), 'hello');
  const pttl = await redis.pttl('a');
  t.ok(pttl > 59_000 && pttl <= 60_000, `PTTL ${pttl} close to 60000`);

  const token1 = (await redis.call('LOCK', 'job', 'w1', 10_000)) as number;
  t.type(token1, 'number');
  t.equal(await redis.call('LOCK', 'job', 'w2', 10_000), null, 'another owner gets nil');
  t.equal(await redis.call('LOCK', 'job', 'w1', 10_000), token1, 're-acquire returns the same token');
  t.equal(await redis.call('UNLOCK', 'job', 'w2'), 0, 'a non-owner cannot release');
  t.equal(await redis.call('UNLOCK', 'job', 'w1'), 1);
  const token2 = (await redis.call('LOCK', 'job', 'w2', 10_000)) as number;
  t.ok(token2 > token1, `tokens grow: ${token1} then ${token2}`);
  const info = (await redis.call('LOCKINFO', 'job')) as Record<string, unknown> | unknown[];
  t.same(Array.isArray(info) ? info.slice(0, 4) : [info.owner, info.token], Array.isArray(info) ? ['owner', 'w2', 'token', token2] : ['w2', token2]);
});

t.test('node-redis 6 (RESP3, no fallback) connects and locks', async (t) => {
  const server = await startServerProcess(t);
  const client = createClient({ url: `redis://127.0.0.1:${server.port}` });
  client.on('error', () => undefined);
  await client.connect();
  t.teardown(() => client.destroy());
  t.equal(await client.set('k', 'v', { PX: 5000, NX: true } as never), 'OK');
  t.equal(await client.get('k'), 'v');
  const token = await client.sendCommand(['LOCK', 'res', 'me', '5000']);
  t.type(token, 'number');
  t.equal(await client.sendCommand(['DELIFEQ', 'k', 'v']), 1);
  t.equal(await client.exists('k'), 0);
});

t.test('redis-cli, in RESP2 and with -3', async (t) => {
  const server = await startServerProcess(t);
  const cli = (...args: string[]) => run('redis-cli', ['-p', String(server.port), ...args]).then((r) => r.stdout.trim());
  t.equal(await cli('PING'), 'PONG');
  t.equal(await cli('SET', 'greeting', 'hi'), 'OK');
  t.equal(await cli('GET', 'greeting'), 'hi');
  t.match(await cli('LOCK', 'cli-lock', 'me', '30000'), /^\d+$/);
  t.equal(await cli('-3', 'GET', 'greeting'), 'hi');
  t.match(await cli('-3', 'LOCKINFO', 'cli-lock'), /owner[\s\S]*me[\s\S]*token/);
  t.match(await cli('INFO', 'raft'), /raft_role:leader/);
});

t.test('redis-benchmark -t ping,set,get runs to completion', async (t) => {
  const server = await startServerProcess(t);
  const { stdout } = await run('redis-benchmark', ['-p', String(server.port), '-t', 'ping,set,get', '-n', '2000', '-c', '10', '-q'], {
    timeout: 120_000,
  });
  for (const test of ['PING_INLINE', 'PING_MBULK', 'SET', 'GET']) t.match(stdout, new RegExp(`${test}: [\\d.]+ requests per second`));
});
