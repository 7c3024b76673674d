// Proves the reply encoder writes the exact bytes Redis writes, in RESP2 and RESP3, and that real
// client parsers read them back.
//
// Every Reply type is checked against literal expected bytes in both protocols; doubles against
// C's %.17g output (table produced with Python's '%.17g', which calls the C library); bytes
// 0..255 round-trip; many replies written into one writer come out as their concatenation, and
// Buffers already taken are not overwritten by later writes. Then seeded random reply trees are
// encoded in pipelines and decoded with `redis-parser` (RESP2, what ioredis used) and node-redis's
// RESP3 decoder, and compared with what each reply should decode to.

import t from 'tap';
import RedisParser from 'redis-parser';
import { Decoder, RESP_TYPES } from '@redis/client/dist/lib/RESP/decoder';
import { Encoded, ReplyWriter, encodeReply, formatDouble, type Protocol } from '../../src/resp/encoder';
import {
  BigNumberReply,
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArray,
  OK,
  PONG,
  PushReply,
  SetReply,
  SimpleString,
  VerbatimReply,
  type Reply,
} from '../../src/resp/reply';

const text = (reply: Reply, protocol: Protocol) => encodeReply(reply, protocol).toString('latin1');

let allBytes = '';
for (let i = 0; i < 256; i++) allBytes += String.fromCharCode(i);

t.test('every reply type, RESP2 and RESP3', async (t) => {
  const cases: Array<[string, Reply, string, string]> = [
    ['null', null, '$-1\r\n', '_\r\n'],
    ['integer', 42, ':42\r\n', ':42\r\n'],
    ['zero', 0, ':0\r\n', ':0\r\n'],
    ['negative zero', -0, ':0\r\n', ':0\r\n'],
    ['negative', -1234567, ':-1234567\r\n', ':-1234567\r\n'],
    ['2^53 - 1', 2 ** 53 - 1, ':9007199254740991\r\n', ':9007199254740991\r\n'],
    ['huge integral number, no exponent', 1e21, ':1000000000000000000000\r\n', ':1000000000000000000000\r\n'],
    ['bigint', -12345678901234567890n, ':-12345678901234567890\r\n', ':-12345678901234567890\r\n'],
    ['bulk', 'abc', '$3\r\nabc\r\n', '$3\r\nabc\r\n'],
    ['empty bulk', '', '$0\r\n\r\n', '$0\r\n\r\n'],
    ['bulk with CRLF inside', 'a\r\nb', '$4\r\na\r\nb\r\n', '$4\r\na\r\nb\r\n'],
    ['all 256 bytes', allBytes, `$256\r\n${allBytes}\r\n`, `$256\r\n${allBytes}\r\n`],
    ['long bulk (native copy)', 'x'.repeat(1000), `$1000\r\n${'x'.repeat(1000)}\r\n`, `$1000\r\n${'x'.repeat(1000)}\r\n`],
    ['OK', OK, '+OK\r\n', '+OK\r\n'],
    ['PONG', PONG, '+PONG\r\n', '+PONG\r\n'],
    ['simple string with CR LF', new SimpleString('a\r\nb'), '+a  b\r\n', '+a  b\r\n'],
    ['error', new ErrorReply('ERR syntax error'), '-ERR syntax error\r\n', '-ERR syntax error\r\n'],
    ['error with newlines', new ErrorReply('ERR bad\nthing\r'), '-ERR bad thing \r\n', '-ERR bad thing \r\n'],
    ['null array', NullArray.instance, '*-1\r\n', '_\r\n'],
    ['empty array', [], '*0\r\n', '*0\r\n'],
    ['array', ['a', 1, null], '*3\r\n$1\r\na\r\n:1\r\n$-1\r\n', '*3\r\n$1\r\na\r\n:1\r\n_\r\n'],
    ['nested arrays', [[1, [2, []]], 'x'], '*2\r\n*2\r\n:1\r\n*2\r\n:2\r\n*0\r\n$1\r\nx\r\n', '*2\r\n*2\r\n:1\r\n*2\r\n:2\r\n*0\r\n$1\r\nx\r\n'],
    [
      'map',
      new MapReply([['a', 1], ['b', [2, new MapReply([])]]]),
      '*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*2\r\n:2\r\n*0\r\n',
      '%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*2\r\n:2\r\n%0\r\n',
    ],
    ['set', new SetReply(['a', 'b']), '*2\r\n$1\r\na\r\n$1\r\nb\r\n', '~2\r\n$1\r\na\r\n$1\r\nb\r\n'],
    ['double', new DoubleReply(1.5), '$3\r\n1.5\r\n', ',1.5\r\n'],
    ['double 0.1', new DoubleReply(0.1), '$19\r\n0.10000000000000001\r\n', ',0.10000000000000001\r\n'],
    ['double integral', new DoubleReply(3), '$1\r\n3\r\n', ',3\r\n'],
    ['double inf', new DoubleReply(Infinity), '$3\r\ninf\r\n', ',inf\r\n'],
    ['double -inf', new DoubleReply(-Infinity), '$4\r\n-inf\r\n', ',-inf\r\n'],
    ['double nan', new DoubleReply(NaN), '$3\r\nnan\r\n', ',nan\r\n'],
    ['double -0', new DoubleReply(-0), '$2\r\n-0\r\n', ',-0\r\n'],
    ['true', new BoolReply(true), ':1\r\n', '#t\r\n'],
    ['false', new BoolReply(false), ':0\r\n', '#f\r\n'],
    ['verbatim', new VerbatimReply('txt', 'hi\r\nthere'), '$9\r\nhi\r\nthere\r\n', '=13\r\ntxt:hi\r\nthere\r\n'],
    ['big number', new BigNumberReply('-123456789012345678901234567890'), '$31\r\n-123456789012345678901234567890\r\n', '(-123456789012345678901234567890\r\n'],
    ['push', new PushReply(['message', 'ch', 'hi']), '*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n', '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n'],
  ];
  for (const [name, reply, resp2, resp3] of cases) {
    t.equal(JSON.stringify(text(reply, 2)), JSON.stringify(resp2), `${name} (RESP2)`);
    t.equal(JSON.stringify(text(reply, 3)), JSON.stringify(resp3), `${name} (RESP3)`);
  }
});

t.test('pre-encoded hot replies match the encoder', async (t) => {
  t.equal(Encoded.ok.toString('latin1'), text(OK, 2));
  t.equal(Encoded.zero.toString('latin1'), text(0, 2));
  t.equal(Encoded.one.toString('latin1'), text(1, 2));
  t.equal(Encoded.nullBulk.toString('latin1'), text(null, 2));
  t.equal(Encoded.nullResp3.toString('latin1'), text(null, 3));
  const writer = new ReplyWriter();
  writer.writeEncoded(Encoded.ok);
  writer.write('v', 2);
  writer.writeEncoded(Encoded.one);
  t.equal(writer.take().toString('latin1'), '+OK\r\n$1\r\nv\r\n:1\r\n');
});

t.test('doubles match C %.17g', async (t) => {
  const table: Array<[number, string]> = [
    [0.1, '0.10000000000000001'],
    [1.5, '1.5'],
    [-2.5, '-2.5'],
    [3.0, '3'],
    [0.3333333333333333, '0.33333333333333331'],
    [0.6666666666666666, '0.66666666666666663'],
    [1e16, '10000000000000000'],
    [1e17, '1e+17'],
    [1.2345678901234568e17, '1.2345678901234568e+17'],
    [0.0001, '0.0001'],
    [1e-5, '1.0000000000000001e-05'],
    [0.00012345678901234567, '0.00012345678901234567'],
    [2.5e-5, '2.5000000000000001e-05'],
    [5e-324, '4.9406564584124654e-324'],
    [2.2250738585072014e-308, '2.2250738585072014e-308'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [-475655052863987.1, '-475655052863987.12'], // exact tie .125: half-to-even rounds down
    [548046167898801.375, '548046167898801.38'], // exact tie .375: half-to-even rounds up
    [-57057131918833.81, '-57057131918833.812'],
    [0.5, '0.5'],
    [100.0, '100'],
    [1e300, '1.0000000000000001e+300'],
    [-1e-300, '-1e-300'],
    [9007199254740992.0, '9007199254740992'],
    [1234.5678, '1234.5678'],
  ];
  for (const [value, expected] of table) t.equal(formatDouble(value), expected, `${value}`);
});

t.test('a writer concatenates many replies and never overwrites what it handed out', async (t) => {
  const replies: Reply[] = [];
  for (let i = 0; i < 5000; i++) {
    replies.push(i % 7 === 0 ? ['k' + i, i, null] : i % 3 === 0 ? OK : i % 500 === 1 ? 'v'.repeat(40_000) : 'value' + i);
  }
  for (const protocol of [2, 3] as const) {
    const writer = new ReplyWriter();
    const taken: Buffer[] = [];
    const expected: string[] = [];
    let batch = '';
    for (let i = 0; i < replies.length; i++) {
      writer.write(replies[i], protocol);
      batch += text(replies[i], protocol);
      if (i % 997 === 0) t.equal(writer.pendingBytes, batch.length, 'pendingBytes counts what was written');
      if (i % 13 === 12) {
        taken.push(writer.take());
        expected.push(batch);
        batch = '';
      }
    }
    taken.push(writer.take());
    expected.push(batch);
    t.equal(writer.pendingBytes, 0);
    t.equal(writer.take().length, 0, 'nothing left after take');
    const mismatched = taken.findIndex((buf, i) => buf.toString('latin1') !== expected[i]);
    t.equal(mismatched, -1, `RESP${protocol}: every taken Buffer intact after later writes`);
  }
});

t.test('programmer errors are caught', async (t) => {
  const writer = new ReplyWriter();
  t.throws(() => writer.write(1.5, 2), { code: 'ERR_ASSERTION' }, 'non-integer number');
  t.throws(() => writer.write(NaN, 2), { code: 'ERR_ASSERTION' });
  t.throws(() => writer.write(undefined as unknown as Reply, 2), { code: 'ERR_ASSERTION' }, 'undefined');
  t.throws(() => writer.write({} as unknown as Reply, 2), { code: 'ERR_ASSERTION' }, 'plain object');
});

/** mulberry32: small seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function randomReply(random: () => number, depth: number, top: boolean): Reply {
  const pick = Math.floor(random() * (depth > 2 ? 11 : 15));
  const str = () => {
    let s = '';
    const n = random() < 0.05 ? 70 + Math.floor(random() * 300) : Math.floor(random() * 12);
    for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(random() * 256));
    return s;
  };
  const word = () => Math.floor(random() * 1e9).toString(36);
  const items = () => Array.from({ length: Math.floor(random() * 4) }, () => randomReply(random, depth + 1, false));
  switch (pick) {
    case 0: return null;
    case 1: return Math.floor((random() - 0.5) * 2 ** 40);
    case 2: return BigInt(Math.floor(random() * 1e15)) * 1000003n - 5000000000000000000n;
    case 3: case 4: return str();
    case 5: return new SimpleString(word());
    case 6: return new ErrorReply(`ERR ${word()}`);
    case 7: return new DoubleReply((random() - 0.5) * 10 ** Math.floor(random() * 20 - 10));
    case 8: return new BoolReply(random() < 0.5);
    case 9: return new VerbatimReply('txt', word());
    case 10: return new BigNumberReply(`${Math.floor(random() * 1e9)}${Math.floor(random() * 1e9)}`);
    case 11: case 12: return items();
    case 13: return new MapReply(Array.from({ length: Math.floor(random() * 3) }, () => [word(), randomReply(random, depth + 1, false)]));
    default:
      if (!top) return new SetReply(items());
      // Push frames carry pub/sub messages: strings and counts.
      return new PushReply(Array.from({ length: 1 + Math.floor(random() * 3) }, () => (random() < 0.7 ? str() : Math.floor(random() * 1e6))));
  }
}

type Shape = null | string | { b: string } | { e: string } | { n: number } | Shape[];

/** What a client decoder should hand back for `reply`, in a neutral shape. */
function model(reply: Reply, protocol: Protocol): Shape {
  if (reply === null) return null;
  if (typeof reply === 'number' || typeof reply === 'bigint') return String(reply);
  if (typeof reply === 'string') return { b: reply };
  if (Array.isArray(reply)) return reply.map((item) => model(item, protocol));
  if (reply instanceof SimpleString) return { b: reply.value };
  if (reply instanceof ErrorReply) return { e: reply.message };
  if (reply instanceof NullArray) return null;
  if (reply instanceof MapReply) return reply.entries.flatMap(([k, v]) => [model(k, protocol), model(v, protocol)]);
  if (reply instanceof SetReply) return reply.items.map((item) => model(item, protocol));
  if (reply instanceof PushReply) {
    // node-redis decodes push frames with its own mapping: Buffers, and integers as numbers.
    return reply.items.map((item) => (protocol === 3 && typeof item === 'number' ? { n: item } : model(item, protocol)));
  }
  if (reply instanceof DoubleReply) return protocol === 3 ? { n: Number(formatDouble(reply.value)) } : { b: formatDouble(reply.value) };
  if (reply instanceof BoolReply) return protocol === 3 ? (reply.value ? 'true' : 'false') : reply.value ? '1' : '0';
  if (reply instanceof VerbatimReply) return protocol === 3 ? reply.text : { b: reply.text };
  if (reply instanceof BigNumberReply) return protocol === 3 ? reply.digits : { b: reply.digits };
  throw new Error('unknown reply');
}

/** The same neutral shape from what a client decoder returned. */
function shape(value: unknown): Shape {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return { b: value.toString('latin1') };
  if (value instanceof Error) return { e: value.message };
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return { n: value };
  if (value instanceof Map) return [...value].flatMap(([k, v]) => [shape(k), shape(v)]);
  if (typeof value === 'object' && value.constructor === Object) {
    // node-redis decodes nested maps as plain objects whatever the mapping; keys are text.
    return Object.entries(value).flatMap(([k, v]) => [{ b: k }, shape(v)]);
  }
  if (typeof value === 'object' && 'toString' in value) {
    // node-redis VerbatimString or similar wrappers.
    return { b: Buffer.from(String(value), 'latin1').toString('latin1') };
  }
  return String(value);
}

t.test('round trip through real client parsers', async (t) => {
  const seed = Number(process.env.RESP_SEED ?? 4242);
  const random = prng(seed);
  const replies: Reply[] = [];
  for (let i = 0; i < 3000; i++) replies.push(randomReply(random, 0, true));

  // RESP2: redis-parser, given pipelines of up to 16 replies cut into random chunks.
  const decoded2: unknown[] = [];
  const parser2 = new RedisParser({
    returnReply: (reply: unknown) => decoded2.push(reply),
    returnError: (error: Error) => decoded2.push(error),
    returnFatalError: (error: Error) => decoded2.push(new Error(`FATAL ${error.message}`)),
    returnBuffers: true,
    stringNumbers: true,
  });
  // RESP3: node-redis's decoder, asked for Buffers and integer text; doubles and verbatim
  // strings keep their defaults (number, string). Push frames always use its own mapping.
  const decoded3: unknown[] = [];
  const parser3 = new Decoder({
    onReply: (reply: unknown) => decoded3.push(reply),
    onErrorReply: (error: Error) => decoded3.push(error),
    onPush: (push: unknown[]) => decoded3.push(push),
    getTypeMapping: () => ({
      [RESP_TYPES.BLOB_STRING]: Buffer,
      [RESP_TYPES.SIMPLE_STRING]: Buffer,
      [RESP_TYPES.NUMBER]: String,
      [RESP_TYPES.BIG_NUMBER]: String,
      [RESP_TYPES.MAP]: Array,
      [RESP_TYPES.SET]: Array,
    }),
  });
  for (const [protocol, feed] of [
    [2, (chunk: Buffer) => parser2.execute(chunk)],
    [3, (chunk: Buffer) => parser3.write(chunk)],
  ] as const) {
    const writer = new ReplyWriter();
    for (let i = 0; i < replies.length; ) {
      const n = 1 + Math.floor(random() * 16);
      for (const reply of replies.slice(i, i + n)) writer.write(reply, protocol);
      i += n;
      const out = writer.take();
      for (let at = 0; at < out.length; ) {
        const size = 1 + Math.floor(random() * 64);
        feed(Buffer.from(out.subarray(at, at + size)));
        at += size;
      }
    }
  }
  for (const [protocol, decoded] of [[2, decoded2], [3, decoded3]] as const) {
    t.equal(decoded.length, replies.length, `RESP${protocol}: one decoded reply per reply`);
    const mismatches: string[] = [];
    replies.forEach((reply, i) => {
      const want = JSON.stringify(model(reply, protocol));
      const got = JSON.stringify(shape(decoded[i]));
      if (want !== got) mismatches.push(`#${i}: want ${want.slice(0, 200)} got ${got.slice(0, 200)}`);
    });
    t.same(mismatches.slice(0, 3), [], `RESP${protocol} round trip (reproduce: RESP_SEED=${seed})`);
  }
});
