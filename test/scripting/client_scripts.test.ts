// Proves that every Lua script the Node lock clients send runs on our engine with the replies and
// side effects those clients expect: integer replies where they check `typeof === 'number'`,
// `+OK` passed through {ok=}, nil -> false for missing keys, Lua 5.1 builtins (unpack,
// table.getn), `id_0`-style member names, SELECT through redis.pcall, and Redis 7's error shape.
// Each script body is the exact text the client sends (its SHA1 is re-checked first).

import { createHash } from 'node:crypto';
import t from 'tap';
import { ErrorReply, SimpleString, type Reply } from '../../src/resp/reply';
import { createLuaEngine } from '../../src/locks/scripting';
import { CLIENT_SCRIPTS } from './client_scripts';
import { FakeHost } from './fake_host';

const engine = createLuaEngine();
const VALUE = '0123456789abcdef0123456789abcdef';

function run(host: FakeHost, name: string, keys: string[], args: string[]): Reply {
  const script = CLIENT_SCRIPTS[name];
  if (script === undefined) throw new Error(`no script ${name}`);
  return engine.run(script.body, keys, args, host, { readOnly: false, sha: script.sha });
}

t.test('fixture bodies hash to the SHA1 the clients compute, and all compile', async (t) => {
  for (const [name, script] of Object.entries(CLIENT_SCRIPTS)) {
    t.equal(createHash('sha1').update(script.body, 'latin1').digest('hex'), script.sha, name);
    t.equal(engine.check(script.body), null, `${name} compiles`);
  }
});

t.test('redlock 3.x one-liners', async (t) => {
  const host = new FakeHost();
  t.same(run(host, 'redlock-v3-lock', ['r'], [VALUE, '1000']), new SimpleString('OK'));
  t.equal(run(host, 'redlock-v3-lock', ['r'], ['other', '1000']), null, 'NX blocks: nil reply');
  t.equal(run(host, 'redlock-v3-extend', ['r'], ['other', '5000']), 0);
  t.equal(run(host, 'redlock-v3-extend', ['r'], [VALUE, '5000']), 1);
  t.equal(run(host, 'redlock-v3-unlock', ['r'], ['other']), 0);
  t.equal(run(host, 'redlock-v3-unlock', ['r'], [VALUE]), 1);
  t.equal(host.getString('r'), undefined);
});

t.test('redlock 4.0.0 lock uses table.getn and replies with an integer', async (t) => {
  const host = new FakeHost();
  t.equal(run(host, 'redlock-v4.0.0-lockScript', ['a', 'b', 'c'], [VALUE, '10000']), 3);
  t.equal(run(host, 'redlock-v4.0.0-lockScript', ['a'], [VALUE, '10000']), 0);
});

t.test('redlock 4.2.0 lock / extend / unlock on several keys', async (t) => {
  const host = new FakeHost();
  t.equal(run(host, 'redlock-v4.2.0-lockScript', ['a', 'b'], [VALUE, '10000']), 2, '#KEYS is an integer reply');
  t.same(host.calls.slice(2), [
    ['set', 'a', VALUE, 'PX', '10000'],
    ['set', 'b', VALUE, 'PX', '10000'],
  ]);
  t.equal(run(host, 'redlock-v4.2.0-lockScript', ['b', 'c'], ['other', '10000']), 0, 'one key taken: 0');
  t.equal(host.getString('c'), undefined, 'nothing written when a key exists');
  t.equal(run(host, 'redlock-v4.2.0-extendScript', ['a', 'b'], ['other', '20000']), 0, 'wrong value: no extend');
  t.equal(run(host, 'redlock-v4.2.0-extendScript', ['a', 'b'], [VALUE, '20000']), 2);
  t.equal(host.call(['pttl', 'a']), 20000);
  t.equal(run(host, 'redlock-v4.2.0-unlockScript', ['a', 'b', 'zz'], [VALUE]), 2, 'counts only keys it owned');
  t.equal(host.getString('a'), undefined);
});

t.test('redlock 4.2.0 unlock on a non-string key: WRONGTYPE with the script and line', async (t) => {
  const host = new FakeHost();
  host.call(['sadd', 'setkey', 'm']);
  const script = CLIENT_SCRIPTS['redlock-v4.2.0-unlockScript'];
  const reply = run(host, 'redlock-v4.2.0-unlockScript', ['setkey'], [VALUE]);
  t.same(reply, new ErrorReply(`WRONGTYPE Operation against a key holding the wrong kind of value script: ${script.sha}, on @user_script:5.`));
});

t.test('redlock 5 / sesame 1.0-1.2 acquire, extend, release', async (t) => {
  const host = new FakeHost();
  t.equal(run(host, 'redlock-v5-ACQUIRE_SCRIPT', ['x'], [VALUE, '900719925474099']), 1);
  t.equal(host.call(['pttl', 'x']), 900719925474099, 'huge TTL passes through exactly');
  t.equal(run(host, 'redlock-v5-ACQUIRE_SCRIPT', ['x'], ['other', '1000']), 0);
  t.equal(run(host, 'redlock-v5-EXTEND_SCRIPT', ['x'], ['other', '1000']), 0);
  t.equal(run(host, 'redlock-v5-EXTEND_SCRIPT', ['x'], [VALUE, '1000']), 1);
  t.equal(run(host, 'redlock-v5-RELEASE_SCRIPT', ['x'], ['other']), 0);
  t.equal(run(host, 'redlock-v5-RELEASE_SCRIPT', ['x'], [VALUE]), 1);
});

t.test('sesame 1.3+: SELECT through redis.pcall, errors swallowed', async (t) => {
  const host = new FakeHost();
  t.equal(run(host, 'sesame-v1.3+-ACQUIRE_SCRIPT', ['x'], ['2', VALUE, '1000']), 1);
  t.same(host.calls[0], ['SELECT', '2'], 'tonumber("2") is sent as "2", not "2.0"');
  t.equal(host.getString('x', 2), VALUE, 'written in db 2');
  host.db = 0;
  t.equal(run(host, 'sesame-v1.3+-ACQUIRE_SCRIPT', ['y'], ['99', VALUE, '1000']), 1, 'a failing SELECT is ignored');
  t.equal(host.getString('y', 0), VALUE);
  host.db = 0;
  t.equal(run(host, 'sesame-v1.3+-EXTEND_SCRIPT', ['x'], ['2', VALUE, '5000']), 1);
  host.db = 0;
  t.equal(run(host, 'sesame-v1.3+-RELEASE_SCRIPT', ['x'], ['2', VALUE]), 1);
  t.equal(host.getString('x', 2), undefined);
});

t.test('redis-semaphore Mutex refresh / release', async (t) => {
  const host = new FakeHost();
  host.call(['set', 'm', 'id1', 'PX', '1000']);
  t.equal(run(host, 'semaphore-v5.7.0-mutex-refresh-numkeys1', ['m'], ['other', '10000']), 0);
  t.equal(run(host, 'semaphore-v5.7.0-mutex-refresh-numkeys1', ['m'], ['id1', '10000']), 1);
  t.equal(host.call(['pttl', 'm']), 10000);
  t.equal(run(host, 'semaphore-v5.7.0-mutex-release-numkeys1', ['m'], ['other']), 0);
  t.equal(run(host, 'semaphore-v5.7.0-mutex-release-numkeys1', ['m'], ['id1']), 1);
});

t.test('redis-semaphore Semaphore acquire / refresh with a limit and expiry of stale entries', async (t) => {
  const host = new FakeHost();
  const now = String(host.nowMs);
  t.equal(run(host, 'semaphore-v5.7.0-semaphore-acquire-numkeys1', ['s'], ['2', 'a', '10000', now]), 1);
  t.equal(run(host, 'semaphore-v5.7.0-semaphore-acquire-numkeys1', ['s'], ['2', 'b', '10000', now]), 1);
  t.equal(run(host, 'semaphore-v5.7.0-semaphore-acquire-numkeys1', ['s'], ['2', 'c', '10000', now]), 0, 'limit reached');
  t.same(host.calls.find((c) => c[0] === 'zremrangebyscore'), ['zremrangebyscore', 's', '-inf', String(host.nowMs - 10000)]);
  t.same(host.calls.find((c) => c[0] === 'zadd'), ['zadd', 's', now, 'a'], 'now (1.7e12) is sent as integer text');
  t.equal(run(host, 'semaphore-v5.7.0-semaphore-refresh-numkeys1', ['s'], ['2', 'c', '10000', now]), 0);
  t.equal(run(host, 'semaphore-v5.7.0-semaphore-refresh-numkeys1', ['s'], ['2', 'a', '10000', now]), 1);
  const later = String(host.nowMs + 20000);
  t.equal(run(host, 'semaphore-v5.7.0-semaphore-acquire-numkeys1', ['s'], ['2', 'c', '10000', later]), 1, 'stale entries removed');
  t.same(host.zsetMembers('s'), ['c']);
});

t.test('redis-semaphore MultiSemaphore writes id_0, id_1 (unpack, integer loop counter)', async (t) => {
  const host = new FakeHost();
  const now = String(host.nowMs);
  t.equal(run(host, 'semaphore-v5.7.0-multiSemaphore-acquire-numkeys1', ['ms'], ['3', '2', 'id', '10000', now]), 1);
  t.same(host.zsetMembers('ms'), ['id_0', 'id_1']);
  t.same(host.calls.find((c) => c[0] === 'zadd'), ['zadd', 'ms', now, 'id_0', now, 'id_1']);
  t.equal(run(host, 'semaphore-v5.7.0-multiSemaphore-acquire-numkeys1', ['ms'], ['3', '2', 'other', '10000', now]), 0);
  t.equal(run(host, 'semaphore-v5.7.0-multiSemaphore-refresh-numkeys1', ['ms'], ['3', '2', 'other', '10000', now]), 0);
  t.equal(run(host, 'semaphore-v5.7.0-multiSemaphore-refresh-numkeys1', ['ms'], ['3', '2', 'id', '10000', now]), 1);
  t.equal(run(host, 'semaphore-v5.7.0-multiSemaphore-release-numkeys1', ['ms'], ['2', 'id']), 2);
  t.same(host.zsetMembers('ms'), []);
});

t.test('redlock-universal scripts', async (t) => {
  const host = new FakeHost();
  t.same(run(host, 'universal-BATCH_ACQUIRE_SCRIPT', ['k1', 'k2'], ['v1', 'v2', '30000']), [1, 2]);
  t.same(run(host, 'universal-BATCH_ACQUIRE_SCRIPT', ['k3', 'k2'], ['v3', 'v2', '30000']), [0, 2, 'k2']);
  t.same(run(host, 'universal-INSPECT_SCRIPT', ['k1'], []), ['v1', 30000]);
  t.equal(run(host, 'universal-INSPECT_SCRIPT', ['nope'], []), null, 'return nil -> null');
  t.same(run(host, 'universal-ATOMIC_EXTEND_SCRIPT', ['nope'], ['v1', '1000', '60000']), [-1, -2]);
  t.same(run(host, 'universal-ATOMIC_EXTEND_SCRIPT', ['k1'], ['v1', '50000', '60000']), [0, 30000], 'too late');
  t.same(run(host, 'universal-ATOMIC_EXTEND_SCRIPT', ['k1'], ['bad', '1000', '60000']), [-1, 30000], 'stolen');
  t.same(run(host, 'universal-ATOMIC_EXTEND_SCRIPT', ['k1'], ['v1', '1000', '60000']), [1, 30000]);
  t.equal(host.call(['pttl', 'k1']), 60000);
  t.equal(run(host, 'universal-EXTEND_IF_MATCH_SCRIPT', ['k1'], ['bad', '5000']), 0);
  t.equal(run(host, 'universal-EXTEND_IF_MATCH_SCRIPT', ['k1'], ['v1', '5000']), 1);
  t.equal(run(host, 'universal-DELETE_IF_MATCH_SCRIPT', ['k1'], ['bad']), 0);
  t.equal(run(host, 'universal-DELETE_IF_MATCH_SCRIPT', ['k1'], ['v1']), 1);
});

t.test('warlock parityDel and parityRelock (ttl and id passed as KEYS)', async (t) => {
  const host = new FakeHost();
  host.call(['set', 'w:lock', 'id1', 'PX', '1000']);
  t.same(run(host, 'warlock-parityRelock', ['w:lock', '5000', 'id1'], []), new SimpleString('OK'), '+OK through {ok=}');
  t.equal(host.call(['pttl', 'w:lock']), 5000);
  t.equal(run(host, 'warlock-parityRelock', ['w:lock', '5000', 'other'], []), 0);
  t.equal(run(host, 'warlock-parityDel', ['w:lock'], ['other']), 0);
  t.equal(run(host, 'warlock-parityDel', ['w:lock'], ['id1']), 1);
});

t.test('simple-redis-mutex v3 release publishes a string.format payload and returns nil', async (t) => {
  const host = new FakeHost();
  host.call(['set', 'lk', '0.5', 'PX', '1000']);
  t.equal(run(host, 'simple-redis-mutex-v3-releaseScript', ['lk', 'chan'], ['0.5']), null);
  t.same(host.published, [['chan', '{ "key": "lk", "value": "0.5" }']]);
  t.equal(host.getString('lk'), undefined);
  t.equal(run(host, 'simple-redis-mutex-v3-releaseScript', ['lk', 'chan'], ['0.5']), null);
  t.equal(host.published.length, 1, 'no publish when not the owner');
});

t.test('ioredis-lock delifequal / pexpireifequal', async (t) => {
  const host = new FakeHost();
  host.call(['set', 'il', 'me']);
  t.equal(run(host, 'ioredis-lock-pexpireifequal', ['il'], ['you', '100']), 0);
  t.equal(run(host, 'ioredis-lock-pexpireifequal', ['il'], ['me', '100']), 1);
  t.equal(run(host, 'ioredis-lock-delifequal', ['il'], ['you']), 0);
  t.equal(run(host, 'ioredis-lock-delifequal', ['il'], ['me']), 1);
});
