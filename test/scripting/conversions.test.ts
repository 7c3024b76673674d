// Proves the Reply <-> Lua conversions follow Redis (clients.md §6.6) in both directions, in RESP2
// mode and after redis.setresp(3): a canned host reply is read back by the script through `type()`
// and fields, and script return values are checked as the Reply the encoder will get. Also the
// redis.call argument rules (numbers as integers, no exponent; bad types refused), pcall vs call,
// the error shapes, and binary-safe strings.

import t from 'tap';
import {
  BigNumberReply,
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArray,
  SetReply,
  SimpleString,
  VerbatimReply,
  type Reply,
} from '../../src/resp/reply';
import { createLuaEngine } from '../../src/locks/scripting';
import { FakeHost } from './fake_host';

const engine = createLuaEngine();
const SHA = 'f'.repeat(40);

function run(body: string, host = new FakeHost(), keys: string[] = [], args: string[] = []): Reply {
  return engine.run(body, keys, args, host, { readOnly: false, sha: SHA });
}

/** Runs `body` with the host answering `reply` to the command X. */
function withReply(reply: Reply, body: string): Reply {
  const host = new FakeHost();
  host.canned.set('x', reply);
  return run(body, host);
}

t.test('RESP -> Lua in RESP2 mode', async (t) => {
  t.equal(withReply(42, "local v = redis.call('x') return type(v) .. ':' .. v"), 'number:42');
  t.equal(withReply(12345678901234n, "return tostring(redis.call('x'))"), '12345678901234');
  t.equal(withReply('bulk', "local v = redis.call('x') return type(v) .. ':' .. v"), 'string:bulk');
  t.equal(withReply(null, "local v = redis.call('x') return v == false and 'false' or 'other'"), 'false');
  t.equal(withReply(NullArray.instance, "return tostring(redis.call('x'))"), 'false');
  t.equal(withReply(new SimpleString('OK'), "return redis.call('x').ok"), 'OK');
  t.same(withReply([1, 'a', [null, 2]], "local v = redis.call('x') return {type(v), v[1], v[2], tostring(v[3][1]), v[3][2]}"), ['table', 1, 'a', 'false', 2]);
  t.same(withReply(new MapReply([['k', 'v'], ['n', 1]]), "return redis.call('x')"), ['k', 'v', 'n', 1], 'map -> flat array');
  t.same(withReply(new SetReply(['a', 'b']), "return redis.call('x')"), ['a', 'b']);
  t.equal(withReply(new DoubleReply(1.5), "local v = redis.call('x') return type(v) .. ':' .. v"), 'string:1.5');
  t.equal(withReply(new BoolReply(true), "local v = redis.call('x') return type(v) .. ':' .. v"), 'number:1');
  t.equal(withReply(new VerbatimReply('txt', 'hello'), "return redis.call('x')"), 'hello');
  t.equal(withReply(new BigNumberReply('123456789012345678901234567890'), "return redis.call('x')"), '123456789012345678901234567890');
});

t.test('RESP -> Lua after redis.setresp(3)', async (t) => {
  const pre = "redis.setresp(3) local v = redis.call('x') ";
  t.equal(withReply(null, pre + "return v == nil and 'nil' or 'other'"), 'nil');
  t.same(withReply(new MapReply([['k', 'v']]), pre + 'return {v.map.k}'), ['v']);
  t.same(withReply(new SetReply(['a']), pre + 'return {tostring(v.set.a)}'), ['true']);
  t.same(withReply(new DoubleReply(2.5), pre + 'return {tostring(v.double)}'), ['2.5']);
  t.same(withReply(new BoolReply(false), pre + 'return {type(v), tostring(v)}'), ['boolean', 'false']);
  t.same(withReply(new BigNumberReply('1234'), pre + 'return {v.big_number}'), ['1234']);
  t.same(withReply(new VerbatimReply('txt', 'hi'), pre + 'return {v.verbatim_string.format, v.verbatim_string.string}'), ['txt', 'hi']);
});

t.test('Lua -> Reply', async (t) => {
  t.equal(run('return 3.99'), 3, 'numbers truncate toward zero');
  t.equal(run('return -3.9'), -3);
  t.equal(run('return 1.7e12'), 1700000000000);
  t.equal(run("return 'x'"), 'x');
  t.equal(run('return true'), 1, 'true -> :1 in RESP2');
  t.equal(run('return false'), null, 'false -> null');
  t.equal(run('return nil'), null);
  t.equal(run('local x = 1'), null, 'falling off the end -> null');
  t.same(run("return {ok='FINE'}"), new SimpleString('FINE'));
  t.same(run("return {ok='a\\r\\nb'}"), new SimpleString('a  b'), 'CR/LF in a status become spaces');
  t.same(run("return {err='BAD thing'}"), new ErrorReply('BAD thing'));
  t.same(run('return {1, 2, nil, 4}'), [1, 2], 'array part up to the first nil');
  t.same(run("return {1, 'a', {2, {3}}, x = 'ignored'}"), [1, 'a', [2, [3]]]);
  t.same(run("return {double = 1.5}"), new DoubleReply(1.5));
  t.same(run("return {big_number = '123'}"), new BigNumberReply('123'));
  t.same(run("return {map = {a = 1}}"), new MapReply([['a', 1]]));
  t.same(run("return {set = {a = true}}"), new SetReply(['a']));
  t.same(run("return {verbatim_string = {format = 'txt', string = 'x'}}"), new VerbatimReply('txt', 'x'));
  t.equal(run('return function() end'), null);
  t.same(run('redis.setresp(3) return true'), new BoolReply(true), 'RESP3 scripts return booleans');
  t.same(run('redis.setresp(3) return false'), new BoolReply(false));
  const selfRef = run('local t = {} t[1] = t return t');
  let depth = 0;
  let cursor: Reply = selfRef;
  while (Array.isArray(cursor)) (cursor = cursor[0], depth++);
  t.same(cursor, new ErrorReply('ERR reached lua stack limit'), `a table containing itself stops at depth ${depth}`);
});

t.test('redis.call arguments', async (t) => {
  const host = new FakeHost();
  run("redis.call('echo', 1.7e12) redis.call('echo', 2.0) redis.call('echo', 0.1) redis.call('echo', -5) redis.call('echo', 2^53)", host);
  t.same(host.calls.map((c) => c[1]), ['1700000000000', '2', '0.1', '-5', '9007199254740992']);
  t.same(run("return redis.pcall('echo', {})"), new ErrorReply('ERR Lua redis lib command arguments must be strings or integers'));
  t.same(run("return redis.pcall('echo', nil)"), new ErrorReply('ERR Lua redis lib command arguments must be strings or integers'));
  t.same(run('return redis.pcall()'), new ErrorReply('ERR Please specify at least one argument for this redis lib call'));
  t.same(run('return redis.call()'), new ErrorReply(`ERR Please specify at least one argument for this redis lib call script: ${SHA}, on @user_script:1.`));
});

t.test('errors: call raises, pcall returns, shapes as Redis 7', async (t) => {
  t.same(run("\nreturn redis.call('nope')"), new ErrorReply(`ERR Unknown Redis command called from script script: ${SHA}, on @user_script:2.`));
  t.same(run("local e = redis.pcall('nope') return e.err"), 'ERR Unknown Redis command called from script');
  t.same(run("local ok, e = pcall(redis.call, 'nope') return {tostring(ok), e.err}"), ['false', 'ERR Unknown Redis command called from script'], 'Lua pcall gets the {err=} table');
  t.same(run("error('boom')"), new ErrorReply(`ERR user_script:1: boom script: ${SHA}, on @user_script:1.`));
  t.same(run("\n\nerror({err='CUSTOM failure'})"), new ErrorReply(`CUSTOM failure script: ${SHA}, on @user_script:3.`));
  t.same(run("return redis.error_reply('MY code')"), new ErrorReply('MY code'));
  t.same(run("return redis.error_reply('-MY code')"), new ErrorReply('MY code'));
  t.same(run("return redis.error_reply('single')"), new ErrorReply('ERR single'));
  t.same(run("return redis.status_reply('DONE')"), new SimpleString('DONE'));
  t.same(run('local x = nil; return x.y'), new ErrorReply(`ERR user_script:1: attempt to index a nil value (local 'x') script: ${SHA}, on @user_script:1.`));
  t.match(engine.check('return +'), /^ERR Error compiling script \(new function\): user_script:1: .*near/);
  t.same(run('return +'), new ErrorReply(engine.check('return +')!));
  t.equal(engine.check('return 1'), null);
});

t.test('binary strings round-trip byte for byte; # counts bytes', async (t) => {
  let all = '';
  for (let b = 0; b < 256; b++) all += String.fromCharCode(b);
  const host = new FakeHost();
  const reply = run("redis.call('set', KEYS[1], ARGV[1]) return {#ARGV[1], redis.call('get', KEYS[1]), ARGV[1]:byte(200)}", host, ['k\xff'], [all]);
  t.same(reply, [256, all, 199]);
  t.equal(host.getString('k\xff'), all);
  t.same(run("return {#'\\195\\169', string.len(ARGV[1]), ARGV[1]:upper()}", new FakeHost(), [], ['\xe9\x80a']), [2, 3, '\xe9\x80A']);
});

t.test('numbers behave like Lua 5.1 doubles', async (t) => {
  t.equal(run("return tostring(10 / 2) .. ' ' .. tostring(2^53) .. ' ' .. tostring(1e15) .. ' ' .. 0.1"), '5 9.007199254741e+15 1e+15 0.1');
  t.equal(run('return tonumber(ARGV[1]) * 1000', new FakeHost(), [], ['2592000']), 2592000000, 'no 32-bit wrap-around');
  t.equal(run("return 'id_' .. (tonumber('4') / 2)"), 'id_2', 'integral floats print without .0');
  t.equal(run("local s = '' for i = 0, 2 do s = s .. i end return s"), '012');
  t.equal(run('return 7 % 3 + 2^10'), 1025);
  t.equal(run("return string.format('%d %s %.2f', 3, 1.5, 2)"), '3 1.5 2.00');
});

t.test('redis.* helpers', async (t) => {
  t.equal(run("return redis.sha1hex('')"), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
  t.equal(run('return redis.REDIS_VERSION'), '7.2.5');
  t.equal(run('return redis.REDIS_VERSION_NUM'), 0x070205);
  t.same(run('return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_REPLICA, redis.REPL_SLAVE, redis.REPL_ALL}'), [0, 1, 2, 2, 3]);
  t.equal(run('return redis.replicate_commands()'), 1);
  t.equal(run('redis.set_repl(redis.REPL_ALL) return 1'), 1);
  t.match(run('redis.set_repl(9)'), { message: /Invalid replication flags/ });
  t.match(run('redis.setresp(4)'), { message: /RESP version must be 2 or 3/ });
  const host = new FakeHost();
  run("redis.log(redis.LOG_WARNING, 'hello', 'world') redis.debug('x') redis.breakpoint()", host);
  t.same(host.logs, [['warning', 'hello world']]);
});
