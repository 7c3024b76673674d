// Proves runaway scripts are stopped deterministically and the engine stays usable: an instruction
// budget stops `while true do end` (even inside pcall / xpcall, which cannot swallow the abort),
// a memory cap stops allocation bombs, deep recursion ends in "stack overflow", and writes made
// before an abort stay (as on Redis, and identically on every replica). Small budgets keep it fast.

import t from 'tap';
import { ErrorReply, type Reply } from '../../src/resp/reply';
import { createLuaEngine } from '../../src/locks/scripting';
import { FakeHost } from './fake_host';

const SHA = 'b'.repeat(40);
const engine = createLuaEngine({ instructionBudget: 2_000_000, memoryBytesMax: 8 * 1024 * 1024 });

function run(body: string, host = new FakeHost()): Reply {
  return engine.run(body, [], [], host, { readOnly: false, sha: SHA });
}

function message(reply: Reply): string {
  return reply instanceof ErrorReply ? reply.message : `not an error: ${JSON.stringify(reply)}`;
}

const BUDGET = 'ERR Script exceeded the instruction budget (2000000 instructions); it was stopped and its writes so far were kept';
const MEMORY = 'ERR Script exceeded the memory limit (8388608 bytes); it was stopped and its writes so far were kept';

t.test('an endless loop is stopped by the instruction budget, then the next script runs', async (t) => {
  t.same(run('\nwhile true do end'), new ErrorReply(`${BUDGET} script: ${SHA}, on @user_script:2.`));
  t.equal(run('return 1'), 1);
});

t.test('pcall / xpcall cannot swallow the abort', async (t) => {
  t.match(message(run('while true do pcall(function() while true do end end) end')), BUDGET);
  t.match(message(run('local ok = pcall(function() while true do end end) return ok')), BUDGET);
  t.match(message(run('xpcall(function() while true do end end, function(e) return e end) return 1')), BUDGET);
  t.match(message(run('xpcall(function() while true do end end, function() while true do end end) return 1')), BUDGET, 'a looping handler is skipped');
  t.match(message(run('local t, f = {3, 2, 1}, function(a, b) return a < b end for i = 1, 1e9 do table.sort(t, f) end')), BUDGET, 'a comparator loop too');
  t.equal(run('return 2'), 2);
});

t.test('the same runaway script stops at the same point every time (deterministic)', async (t) => {
  const host1 = new FakeHost();
  const host2 = new FakeHost();
  const body = "local i = 0 while true do i = i + 1 if i % 100000 == 0 then redis.call('incr', 'n') end end";
  t.match(message(run(body, host1)), BUDGET);
  t.match(message(run(body, host2)), BUDGET);
  t.ok(Number(host1.getString('n')) > 0, 'writes before the abort are kept');
  t.equal(host1.getString('n'), host2.getString('n'), 'and are identical on every replica');
});

t.test('memory bombs are stopped by the memory cap', async (t) => {
  t.match(message(run("local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) end")), MEMORY);
  t.equal(run('return 3'), 3);
  t.match(message(run("local s = 'x' while true do s = s .. s end")), MEMORY);
  t.match(message(run("return ('x'):rep(1e8)")), MEMORY);
  t.match(message(run("local t = {} for i = 1, 1e9 do t[i] = i end")), MEMORY);
  t.match(message(run("local t = {} for i = 1, 1e9 do pcall(function() t[i] = ('x'):rep(1000) end) end")), MEMORY, 'pcall cannot swallow it');
  t.match(message(run("return table.concat({('x'):rep(1e6)}, ('y'):rep(1e6), 1, 1)  .. string.rep(('z'):rep(1e5), 100)")), MEMORY);
  t.equal(run("return #('x'):rep(1e5)"), 100000, 'ordinary allocation is fine');
  t.equal(run('return 4'), 4);
});

t.test('deep recursion gives an error, not a crash', async (t) => {
  t.match(message(run('local function f(n) return 1 + f(n + 1) end return f(1)')), 'stack overflow');
  t.equal(run('local function f() return pcall(f) end return f()'), 1, 'recursion through pcall ends inside the innermost pcall');
  t.match(message(run("local s = string.rep('a', 300) local function f(x) return (x:gsub('a', f)) end return f(s)")), /stack overflow|C stack overflow/);
  t.equal(run('return 5'), 5);
});

t.test('default limits are 100M instructions and 64 MiB', async (t) => {
  const e = createLuaEngine();
  t.equal(e.instructionBudget, 100_000_000);
  t.equal(e.memoryBytesMax, 64 * 1024 * 1024);
});
