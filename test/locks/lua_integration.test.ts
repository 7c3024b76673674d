// Proves the state machine and the real Lua engine work together on the lock clients' own scripts:
// redlock's acquire/extend/release, the @sesamecare-oss `redis.pcall("SELECT", db)` prologue,
// WRONGTYPE raised by redis.call("get") inside a script (the redlock 4 test suite relies on it),
// EVAL_RO refusing writes, and two replicas running the same scripts ending with equal digests.

import t from 'tap';
import { createLuaEngine } from '../../src/locks/scripting';
import { ErrorReply, OK } from '../../src/resp/reply';
import { Harness } from './harness';

const ACQUIRE = `
for i, key in ipairs(KEYS) do
  if redis.call("exists", key) == 1 then
    return 0
  end
end
for i, key in ipairs(KEYS) do
  redis.call("set", key, ARGV[1], "PX", ARGV[2])
end
return #KEYS
`;
const EXTEND = `
for i, key in ipairs(KEYS) do
  if redis.call("get", key) ~= ARGV[1] then
    return 0
  end
end
for i, key in ipairs(KEYS) do
  redis.call("set", key, ARGV[1], "PX", ARGV[2])
end
return #KEYS
`;
const RELEASE = `
local count = 0
for i, key in ipairs(KEYS) do
  if redis.call("get", key) == ARGV[1] then
    redis.pcall("del", key)
    count = count + 1
  end
end
return count
`;

t.test('redlock scripts against the state machine with the real Lua engine', (t) => {
  const h = new Harness({ engine: createLuaEngine() });
  t.equal(h.run('EVAL', ACQUIRE, 2, 'a', 'b', 'value-1', 10000), 2);
  const token = (h.read('LOCKINFO', 'a') as { entries: Array<[string, unknown]> }).entries[1][1];
  t.equal(h.run('EVAL', ACQUIRE, 1, 'a', 'value-2', 10000), 0, 'held: a second acquire fails');
  h.advance(5000);
  t.equal(h.run('EVAL', EXTEND, 2, 'a', 'b', 'value-1', 10000), 2);
  t.equal(h.read('PTTL', 'a'), 10000);
  t.equal((h.read('LOCKINFO', 'a') as { entries: Array<[string, unknown]> }).entries[1][1], token, 'extend keeps the fencing token');
  t.equal(h.run('EVAL', EXTEND, 1, 'a', 'value-2', 10000), 0, 'a stale owner cannot extend');
  t.equal(h.run('EVAL', RELEASE, 2, 'a', 'b', 'value-2'), 0, 'a stale owner cannot release');
  t.equal(h.run('EVAL', RELEASE, 2, 'a', 'b', 'value-1'), 2);
  t.equal(h.read('EXISTS', 'a', 'b'), 0);
  t.end();
});

t.test('SELECT in a script, WRONGTYPE from redis.call, EVAL_RO, fencing via LOCK from Lua', (t) => {
  const h = new Harness({ engine: createLuaEngine() });
  t.equal(h.run('EVAL', 'redis.pcall("SELECT", 2)\nreturn redis.call("set", KEYS[1], "x")["ok"]', 1, 'k'), 'OK');
  h.db = 2;
  t.equal(h.run('GET', 'k'), 'x', 'the script wrote to db 2');
  h.db = 0;
  t.equal(h.run('GET', 'k'), null);
  h.run('SADD', 'set', 'm');
  const reply = h.run('EVAL', 'return redis.call("get", KEYS[1])', 1, 'set');
  t.ok(reply instanceof ErrorReply && reply.message.startsWith('WRONGTYPE Operation against a key holding the wrong kind of value'), String((reply as ErrorReply).message));
  const ro = h.read('EVAL_RO', 'return redis.call("set", KEYS[1], "x")', 1, 'k');
  t.ok(ro instanceof ErrorReply && ro.message.includes('Write commands are not allowed from read-only scripts'), String((ro as ErrorReply).message));
  t.equal(h.run('EVAL', 'return redis.call("LOCK", KEYS[1], ARGV[1], 1000)', 1, 'L', 'me'), h.index, 'LOCK from Lua replies the entry index');
  t.strictSame(h.run('SET', 'plain', 'v'), OK);
  t.end();
});

t.test('replicas running the same scripts agree', (t) => {
  const a = new Harness({ engine: createLuaEngine() });
  const b = new Harness({ engine: createLuaEngine() });
  for (let i = 0; i < 200; i++) {
    for (const h of [a, b]) {
      h.run('EVAL', ACQUIRE, 1, `k${i % 13}`, `v${i % 3}`, 100 + (i % 50));
      if (i % 4 === 0) h.run('EVAL', RELEASE, 1, `k${i % 7}`, `v${i % 3}`);
      h.run('EVAL', 'return redis.call("incr", KEYS[1])', 1, 'counter');
      h.advance(17);
    }
  }
  t.equal(a.sm.digest(), b.sm.digest());
  t.end();
});
