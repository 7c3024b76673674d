// Proves a script cannot reach outside its sandbox or leave anything behind for the next script:
// no os/io/require/loadfile/dofile/debug, no bytecode, no new globals (Redis 7's texts), library
// tables and the string metatable read-only (rawset included), and each run starts from fresh
// globals even though the VM is reused. Every escape attempt is followed by a clean script that
// must see the original environment.

import t from 'tap';
import { ErrorReply, type Reply } from '../../src/resp/reply';
import { createLuaEngine } from '../../src/locks/scripting';
import { FakeHost } from './fake_host';

const engine = createLuaEngine();
const SHA = 'a'.repeat(40);

function run(body: string, keys: string[] = [], args: string[] = []): Reply {
  return engine.run(body, keys, args, new FakeHost(), { readOnly: false, sha: SHA });
}

function message(reply: Reply): string {
  return reply instanceof ErrorReply ? reply.message : `not an error: ${JSON.stringify(reply)}`;
}

const CLEAN = "return {type(string.upper), string.upper('a'), tostring(pcall(function() return os end)), type(KEYS), ('x'):rep(2), tostring(rawget(_G, 'leak'))}";
const CLEAN_REPLY = ['function', 'A', 'false', 'table', 'xx', 'nil'];

t.test('host-reaching globals are absent', async (t) => {
  for (const name of ['os', 'io', 'require', 'loadfile', 'dofile', 'package', 'debug', 'module', 'getfenv', 'setfenv', 'newproxy', 'coroutine', 'jit', 'js']) {
    t.match(message(run(`return ${name}`)), `Script attempted to access nonexistent global variable '${name}'`, name);
  }
  t.match(message(run('os.exit(1)')), "nonexistent global variable 'os'");
  t.match(message(run("io.open('/etc/passwd')")), "nonexistent global variable 'io'");
  t.match(message(run("require('fs')")), "nonexistent global variable 'require'");
  t.equal(run("return type(print) .. type(collectgarbage) .. tostring(print('x') == nil)"), 'functionfunctiontrue', 'print is a harmless no-op');
});

t.test('globals cannot be created or read when undeclared (Redis texts)', async (t) => {
  t.same(run('x = 1'), new ErrorReply(`ERR user_script:1: Script attempted to create global variable 'x' script: ${SHA}, on @user_script:1.`));
  t.same(run('return y'), new ErrorReply(`ERR user_script:1: Script attempted to access nonexistent global variable 'y' script: ${SHA}, on @user_script:1.`));
  t.match(message(run('function f() end')), "Script attempted to create global variable 'f'");
  t.match(message(run('_G.z = 1')), "Script attempted to create global variable 'z'");
  t.equal(run('local function f() return 2 end return f()'), 2, 'locals are fine');
  t.equal(run("KEYS = {'replaced'} return KEYS[1]"), 'replaced', 'existing globals can be reassigned');
  t.same(run(CLEAN, ['k']), CLEAN_REPLY);
});

t.test('library tables and the string metatable are read-only', async (t) => {
  const attempts = [
    'string.upper = function() return "pwned" end',
    "rawset(string, 'upper', function() return 'pwned' end)",
    "table.insert(string, 'x')",
    "getmetatable('').__index = {upper = function() return 'pwned' end}",
    "getmetatable('').__index.upper = function() return 'pwned' end",
    "rawset(getmetatable(''), '__index', {})",
    "redis.call = function() return 'pwned' end",
    'math.floor = nil',
    "cjson.encode = nil",
  ];
  for (const body of attempts) {
    t.match(message(run(body)), 'Attempt to modify a readonly table', body);
    t.same(run(CLEAN), CLEAN_REPLY, `after: ${body}`);
  }
  t.match(message(run('setmetatable(string, {__index = function() return 1 end})')), 'cannot change a protected metatable');
  t.match(message(run('setmetatable(_G, nil)')), 'cannot change a protected metatable');
  t.match(message(run("setmetatable(_G, {__index = function(_, k) return k end}) return undefined_thing")), 'protected metatable');
  t.equal(run("return getmetatable('').__index == string and 1 or 0"), 1, "getmetatable('') still works for reading");
});

t.test('rawset into the environment stays inside the run', async (t) => {
  t.equal(run("rawset(_G, 'leak', 'v') return leak"), 'v');
  t.same(run(CLEAN), CLEAN_REPLY, 'the next script does not see it');
});

t.test('no bytecode; loadstring compiles text in the sandbox', async (t) => {
  t.match(message(run('return string.dump(function() end)')), "attempt to call a nil value (field 'dump')");
  t.same(run("local f, e = load('\\27Lua\\83\\0') return {tostring(f), e}"), ['nil', "attempt to load a binary chunk (mode is 't')"]);
  t.same(run("local f, e = loadstring('\\27Lua\\83\\0') return {tostring(f), e}"), ['nil', "attempt to load a binary chunk (mode is 't')"]);
  t.equal(run("return loadstring('return 1 + KEYS[1]')()", ['41']), 42, 'loadstring sees the script environment');
  t.match(message(run("loadstring('g = 1')()")), "Script attempted to create global variable 'g'");
  t.match(message(run("return loadstring('return os')()")), "nonexistent global variable 'os'");
  t.equal(run('return unpack({1, 2, 3})'), 1, 'unpack is there (first value returned)');
  t.equal(run('return table.getn({1, 2, 3})'), 3);
  t.equal(run('return math.mod(7, 3)'), 1);
  t.equal(run("local n = 0 for w in string.gfind('a b c', '%a') do n = n + 1 end return n"), 3);
});

t.test('scripts do not see each other\'s globals or state', async (t) => {
  t.equal(run("rawset(_G, 'counter', (rawget(_G, 'counter') or 0) + 1) return counter"), 1);
  t.equal(run("rawset(_G, 'counter', (rawget(_G, 'counter') or 0) + 1) return counter"), 1);
  t.same(run('return {#KEYS, #ARGV}', ['a'], ['b', 'c']), [1, 2]);
  t.same(run('return {#KEYS, #ARGV}'), [0, 0]);
});

t.test('math.random is deterministic: the same sequence in every run', async (t) => {
  const body = 'local t = {} for i = 1, 5 do t[i] = math.random(1000) end t[6] = tostring(math.random()) return t';
  const first = run(body);
  t.same(run(body), first);
  t.same(createLuaEngine().run(body, [], [], new FakeHost(), { readOnly: false, sha: SHA }), first, 'and on a fresh engine');
  t.not(JSON.stringify(run('math.randomseed(42) return math.random(1000)')), JSON.stringify((first as number[])[0]), 'randomseed changes it');
  t.same(run(body), first, 'and the seed is reset for the next script');
});
