// Proves the libraries Redis bundles behave as they do there: bit (LuaBitOp, 32-bit signed results),
// cjson (empty table -> {}, arrays vs objects, cjson.null, '/' escaped, \u escapes -> UTF-8 bytes,
// Redis's error texts), cmsgpack (lua-cmsgpack's exact encodings, round trips) and struct
// (pack / unpack / size with endianness, alignment and strings). Each case runs a script and
// compares its reply.

import t from 'tap';
import { ErrorReply, type Reply } from '../../src/resp/reply';
import { createLuaEngine } from '../../src/locks/scripting';
import { FakeHost } from './fake_host';

const engine = createLuaEngine();

function run(body: string, args: string[] = []): Reply {
  return engine.run(body, [], args, new FakeHost(), { readOnly: false, sha: 'c'.repeat(40) });
}

function message(reply: Reply): string {
  return reply instanceof ErrorReply ? reply.message : `not an error: ${JSON.stringify(reply)}`;
}

t.test('bit', async (t) => {
  t.same(
    run('return {bit.band(0xff, 0x0f, 0x3), bit.bor(1, 2, 4), bit.bxor(5, 3), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.rol(0x80000001, 1), bit.ror(1, 1), bit.bswap(0x01020304), bit.tobit(2^32 + 5), bit.tobit(0xffffffff)}'),
    [3, 7, 6, -1, -2147483648, 15, -4, 3, -2147483648, 0x04030201, 5, -1],
  );
  t.same(run("return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 2)}"), ['000000ff', 'FFFF', '34']);
});

t.test('cjson.encode', async (t) => {
  t.equal(run("return cjson.encode({1, 2, 'x/y', {a = true}})"), '[1,2,"x\\/y",{"a":true}]');
  t.equal(run('return cjson.encode({})'), '{}', 'an empty table is an object');
  t.equal(run('return cjson.encode({[1] = 1, [3] = 3})'), '[1,null,3]', 'holes become null');
  t.equal(run("return cjson.encode({a = cjson.null, b = 1.5, c = 1e20})"), '{"a":null,"b":1.5,"c":1e+20}');
  t.equal(run(String.raw`return cjson.encode('\1\n"\200')`), '"\\u0001\\n\\"\xc8"', 'control chars escaped, high bytes raw');
  t.match(message(run('return cjson.encode({[1] = 1, [20] = 2})')), 'Cannot serialise table: excessively sparse array');
  t.match(message(run('return cjson.encode({f = function() end})')), 'Cannot serialise function: type not supported');
  t.match(message(run('return cjson.encode(0/0)')), 'Cannot serialise number: must not be NaN or Inf');
  t.match(message(run('local t = {} t[1] = t return cjson.encode(t)')), 'Cannot serialise, excessive nesting (1001)');
});

t.test('cjson.decode', async (t) => {
  t.same(run(`local v = cjson.decode('{"a":[1,2.5,{"b":null}],"s":"\\\\u00e9\\\\n"}') return {v.a[1], tostring(v.a[2]), v.a[3].b == cjson.null and 1 or 0, v.s, #v.s}`), [1, '2.5', 1, '\xc3\xa9\n', 3]);
  t.same(run("return cjson.decode(ARGV[1])", ['["x", true]']), ['x', 1]);
  t.equal(run("return cjson.decode(cjson.encode({k = 'v'})).k"), 'v');
  t.match(message(run("return cjson.decode('[1,2')")), 'Expected comma or array end but found T_END at character 5');
  t.match(message(run("return cjson.decode('{\"a\":1}x')")), 'Expected the end but found invalid token at character 8');
  t.match(message(run("return cjson.decode(string.rep('[', 2000))")), 'Found too many nested data structures (1001)');
});

t.test('cmsgpack', async (t) => {
  t.same(
    run("local s = cmsgpack.pack({1, 2, 3}, 'abc', {a = 1}, 1.5, 0.1, -1, 300, -200, true, {}) return {s:byte(1, -1)}"),
    [0x93, 1, 2, 3, 0xa3, 97, 98, 99, 0x81, 0xa1, 97, 1, 0xca, 0x3f, 0xc0, 0, 0, 0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, 0xff, 0xcd, 1, 44, 0xd1, 0xff, 0x38, 0xc3, 0x90],
  );
  t.same(
    run("local a, b, c, d = cmsgpack.unpack(cmsgpack.pack({1, 2, {x = 'y'}}, ('z'):rep(40), 1.5, -70000)) return {a[1], a[3].x, #b, tostring(c), d}"),
    [1, 'y', 40, '1.5', -70000],
  );
  t.equal(run("return #cmsgpack.pack(('x'):rep(300))"), 303, 'str16 header');
  t.match(message(run("return cmsgpack.unpack('\\147\\1')")), 'Missing bytes in input.');
  t.match(message(run('return cmsgpack.pack()')), 'MessagePack pack needs input.');
});

t.test('struct', async (t) => {
  t.same(run("local s = struct.pack('>I2i4<hBs', 258, -2, -3, 255, 'hi') return {s:byte(1, -1)}"), [1, 2, 255, 255, 255, 254, 253, 255, 255, 104, 105, 0]);
  t.same(run("return {struct.unpack('>I2i4<hBs', struct.pack('>I2i4<hBs', 258, -2, -3, 255, 'hi'))}"), [258, -2, -3, 255, 'hi', 13]);
  t.same(run("return {struct.size('!4bi'), struct.size('bi'), struct.size('<d'), struct.size('c10')}"), [8, 5, 8, 10]);
  t.same(run("return {struct.unpack('bc0', struct.pack('bc0', 3, 'abc'))}"), [3, 'abc', 5]);
  t.same(run("return {struct.unpack('<d', struct.pack('<d', 0.1))}"), [0, 9], 'a double round-trips (0.1 truncates to 0 as a reply)');
  t.equal(run("return tostring(struct.unpack('<d', struct.pack('<d', 0.1)))"), '0.1');
  t.match(message(run("return struct.unpack('i4', 'ab')")), 'data string too short');
});
