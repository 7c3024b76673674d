// Proves the request parser reads what Redis reads and refuses what Redis refuses.
//
// Every case is run whole, byte by byte, split at every boundary (buf[0..i] then buf[i..]), and
// both pulling after each chunk and feeding everything before pulling (a paused connection);
// all runs must give the same commands and the same error. Limits are probed just under
// (accepted) and just over (refused with Redis's exact text, as soon as the header is read).
// Random bytes from a seeded PRNG must parse or fail with a ProtocolError, identically under
// random splits. A large bulk in 64 KiB chunks must be joined with one Buffer.concat.

import t from 'tap';
import { ProtocolError, ProtocolErrors, RequestParser, splitInlineArgs } from '../../src/resp/request_parser';
import { defaultRequestLimits, stringLengthMax, type RequestLimits } from '../../src/resp/limits';

interface Outcome {
  commands: string[][];
  error: string | null;
}

interface Options {
  limits?: Partial<RequestLimits>;
  authenticated?: boolean;
}

type Asserts = Pick<typeof t, 'same'>;

const b = (text: string) => Buffer.from(text, 'latin1');

/** Feeds `chunks`, pulling commands after each one (or only at the end), until null or an error. */
function parse(chunks: Buffer[], options: Options = {}, pullEachChunk = true): Outcome {
  const parser = new RequestParser(options.limits);
  if (options.authenticated === false) parser.setAuthenticated(false);
  const commands: string[][] = [];
  const drain = (): string | null => {
    for (let guard = 0; guard < 1e7; guard++) {
      let argv: string[] | null;
      try {
        argv = parser.next();
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        return error.message;
      }
      if (argv === null) return null;
      commands.push(argv);
    }
    throw new Error('parser did not stop');
  };
  for (const chunk of chunks) {
    parser.feed(chunk);
    if (pullEachChunk) {
      const error = drain();
      if (error !== null) return { commands, error };
    }
  }
  return { commands, error: drain() };
}

function splits(input: Buffer): Array<[string, Buffer[]]> {
  const out: Array<[string, Buffer[]]> = [['whole', [input]]];
  if (input.length <= 400) {
    const bytes: Buffer[] = [];
    for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
    out.push(['byte by byte', bytes]);
    for (let i = 1; i < input.length; i++) out.push([`split at ${i}`, [input.subarray(0, i), input.subarray(i)]]);
  } else {
    for (const size of [1000, 4096, 65536]) {
      const parts: Buffer[] = [];
      for (let i = 0; i < input.length; i += size) parts.push(input.subarray(i, i + size));
      out.push([`chunks of ${size}`, parts]);
    }
  }
  return out;
}

/** Runs `input` every way and checks each run against `expected`. One assertion per case. */
function check(t: Asserts, name: string, input: Buffer | string, expected: Outcome, options: Options = {}): void {
  const buf = typeof input === 'string' ? b(input) : input;
  const failures: string[] = [];
  for (const [how, chunks] of splits(buf)) {
    for (const pullEachChunk of [true, false]) {
      const got = parse(chunks, options, pullEachChunk);
      const same =
        got.error === expected.error && JSON.stringify(got.commands) === JSON.stringify(expected.commands);
      if (!same) failures.push(`${how}${pullEachChunk ? '' : ' (pulled at end)'}: ${JSON.stringify(got).slice(0, 300)}`);
    }
  }
  t.same(failures.slice(0, 3), [], name);
}

const ok = (...commands: string[][]): Outcome => ({ commands, error: null });
const fails = (error: string, ...commands: string[][]): Outcome => ({ commands, error });

function bulk(value: string): string {
  return `$${value.length}\r\n${value}\r\n`;
}
function array(...args: string[]): string {
  return `*${args.length}\r\n${args.map(bulk).join('')}`;
}

let allBytes = '';
for (let i = 0; i < 256; i++) allBytes += String.fromCharCode(i);

t.test('RESP arrays of bulk strings', async (t) => {
  check(t, 'one command', array('PING'), ok(['PING']));
  check(t, 'three arguments', array('SET', 'a', 'abc'), ok(['SET', 'a', 'abc']));
  check(t, 'empty bulk', array('GET', ''), ok(['GET', '']));
  check(t, 'all 256 byte values in a bulk', array('SET', 'k', allBytes), ok(['SET', 'k', allBytes]));
  check(t, 'CR LF inside a bulk are data', array('SET', '\r\n', '*1\r\n$4\r\n'), ok(['SET', '\r\n', '*1\r\n$4\r\n']));
  check(t, 'long bulk (over the short-string path)', array('SET', 'k'.repeat(100), 'v'.repeat(300)), ok(['SET', 'k'.repeat(100), 'v'.repeat(300)]));
  check(t, '*0 is skipped', '*0\r\n' + array('PING'), ok(['PING']));
  check(t, '*-1 is skipped', '*-1\r\n' + array('PING'), ok(['PING']));
  check(t, 'any negative count is skipped', '*-5\r\n*-9223372036854775808\r\n' + array('PING'), ok(['PING']));
  check(t, 'pipelined commands in one chunk', array('SET', 'a', '1') + array('GET', 'a') + array('DEL', 'a'), ok(['SET', 'a', '1'], ['GET', 'a'], ['DEL', 'a']));
  check(t, 'arrays and inline mixed', 'PING\r\n' + array('ECHO', 'x') + 'SET a b\r\n' + array('GET', 'a'), ok(['PING'], ['ECHO', 'x'], ['SET', 'a', 'b'], ['GET', 'a']));
  check(t, 'incomplete command is held, not returned', array('SET', 'a', 'b') + '*2\r\n$3\r\nGET\r\n$1\r\n', ok(['SET', 'a', 'b']));
});

t.test('malformed arrays', async (t) => {
  check(t, 'expected $', '*1\r\n+PING\r\n', fails("Protocol error: expected '$', got '+'"));
  check(t, 'expected $ after good commands', array('PING') + '*2\r\n$4\r\nECHO\r\n:1\r\n', fails("Protocol error: expected '$', got ':'", ['PING']));
  check(t, 'non-digit count', '*abc\r\n', fails(ProtocolErrors.invalidArrayLength));
  check(t, 'empty count', '*\r\n', fails(ProtocolErrors.invalidArrayLength));
  check(t, 'count with plus sign', '*+1\r\n$4\r\nPING\r\n', fails(ProtocolErrors.invalidArrayLength));
  check(t, 'count with leading zero', '*01\r\n$4\r\nPING\r\n', fails(ProtocolErrors.invalidArrayLength));
  check(t, 'count -0', '*-0\r\n', fails(ProtocolErrors.invalidArrayLength));
  check(t, 'count past int64', '*-9223372036854775809\r\n', fails(ProtocolErrors.invalidArrayLength));
  check(t, 'count line not ended by CRLF', '*1\rX$4\r\nPING\r\n', fails(ProtocolErrors.invalidArrayLength));
  check(t, 'non-digit bulk length', '*1\r\n$4x\r\nPING\r\n', fails(ProtocolErrors.invalidBulkLength));
  check(t, 'negative bulk length', '*1\r\n$-1\r\n', fails(ProtocolErrors.invalidBulkLength));
  check(t, 'bulk length with leading zero', '*1\r\n$04\r\nPING\r\n', fails(ProtocolErrors.invalidBulkLength));
  check(t, 'bulk data not followed by CRLF', '*1\r\n$4\r\nPINGxx', fails(ProtocolErrors.missingBulkCrlf));
  check(t, 'bulk data shorter than announced', '*1\r\n$5\r\nPING\r\n*1', fails(ProtocolErrors.missingBulkCrlf));
  check(t, 'a nested array is not a request', '*1\r\n*1\r\n$4\r\nPING\r\n', fails("Protocol error: expected '$', got '*'"));
});

t.test('inline commands (sdssplitargs)', async (t) => {
  check(t, 'PING CRLF', 'PING\r\n', ok(['PING']));
  check(t, 'bare LF ending', 'PING\n', ok(['PING']));
  check(t, 'several inline commands', 'SET a b\r\nGET a\nDEL a\r\n', ok(['SET', 'a', 'b'], ['GET', 'a'], ['DEL', 'a']));
  check(t, 'blanks between arguments', '  SET \t a   b  \r\n', ok(['SET', 'a', 'b']));
  check(t, 'empty line is skipped', '\r\n\n   \r\nPING\r\n', ok(['PING']));
  check(t, 'double quotes', 'SET a "b c"\r\n', ok(['SET', 'a', 'b c']));
  check(t, 'empty quoted argument', 'SET a ""\r\n', ok(['SET', 'a', '']));
  check(t, 'escapes in double quotes', 'SET k "\\x41\\x7a\\n\\r\\t\\b\\a\\\\\\"\\q"\r\n', ok(['SET', 'k', 'Az\n\r\t\b\x07\\"q']));
  check(t, '\\x without two hex digits is a plain x', 'SET k "\\xZZ\\x4"\r\n', ok(['SET', 'k', 'xZZx4']));
  check(t, 'high bytes via \\x', 'SET k "\\xff\\x00\\x80"\r\n', ok(['SET', 'k', '\xff\x00\x80']));
  check(t, 'single quotes', "SET k 'it\\'s \"x\" \\n'\r\n", ok(['SET', 'k', 'it\'s "x" \\n']));
  check(t, 'quote starting mid-token', 'SET k a"b c"\r\n', ok(['SET', 'k', 'ab c']));
  check(t, 'high bytes are kept as is', 'SET k \xe9\xff\r\n', ok(['SET', 'k', '\xe9\xff']));
  check(t, 'a NUL ends the line like a C string', 'SET k v\x00junk "\r\nPING\r\n', ok(['SET', 'k', 'v'], ['PING']));
  check(t, 'unterminated double quote', 'SET a "b c\r\n', fails(ProtocolErrors.unbalancedQuotes));
  check(t, 'unterminated single quote', "SET a 'b\r\n", fails(ProtocolErrors.unbalancedQuotes));
  check(t, 'closing quote followed by a non-blank', 'SET a "b"c\r\n', fails(ProtocolErrors.unbalancedQuotes));
  check(t, 'trailing backslash inside quotes', 'SET a "b\\\r\n', fails(ProtocolErrors.unbalancedQuotes));
  check(t, 'commands before an unbalanced line are returned', 'PING\r\nSET "a\r\n', fails(ProtocolErrors.unbalancedQuotes, ['PING']));
  t.same(splitInlineArgs('a\x0bb'), ['a\x0bb'], 'vertical tab only separates when leading (isspace vs token end)');
});

t.test('limits: inline line', async (t) => {
  const limits = { inlineBytesMax: 100 };
  const under = 'ECHO ' + 'a'.repeat(100 - 5 - 1) + '\r\n'; // 100 bytes before the LF
  check(t, 'line of exactly the limit', under, ok(['ECHO', 'a'.repeat(94)]), { limits });
  check(t, 'line one byte over', 'ECHO ' + 'a'.repeat(95) + '\r\n', fails(ProtocolErrors.tooBigInline), { limits });
  check(t, 'no LF, exactly the limit: waits', 'x'.repeat(100), ok(), { limits });
  check(t, 'no LF, one byte over: refused at once', 'x'.repeat(101), fails(ProtocolErrors.tooBigInline), { limits });

  const max = defaultRequestLimits.inlineBytesMax;
  t.equal(max, 64 * 1024);
  check(t, 'default: 64 KiB line accepted', 'ECHO ' + 'a'.repeat(max - 6) + '\r\n', ok(['ECHO', 'a'.repeat(max - 6)]));
  check(t, 'default: 64 KiB + 1 refused', 'ECHO ' + 'a'.repeat(max - 5) + '\r\n', fails(ProtocolErrors.tooBigInline));
  check(t, 'default: unterminated 64 KiB + 1 refused', 'a'.repeat(max + 1), fails(ProtocolErrors.tooBigInline));
});

t.test('limits: header lines', async (t) => {
  const limits = { inlineBytesMax: 100 };
  check(t, 'array header without CR past the limit', '*' + '1'.repeat(100), fails(ProtocolErrors.tooBigArrayHeader), { limits });
  check(t, 'array header without CR at the limit waits', '*' + '1'.repeat(99), ok(), { limits });
  check(t, 'bulk header without CR past the limit', '*1\r\n$' + '1'.repeat(100), fails(ProtocolErrors.tooBigBulkHeader), { limits });
  check(t, 'bulk header without CR at the limit waits', '*1\r\n$' + '1'.repeat(99), ok(), { limits });
  check(t, 'default: array header garbage past 64 KiB', '*' + '1'.repeat(64 * 1024), fails(ProtocolErrors.tooBigArrayHeader));
});

t.test('limits: bulk length', async (t) => {
  const limits = { bulkBytesMax: 1000 };
  check(t, 'bulk of exactly the limit', array('SET', 'k', 'v'.repeat(1000)), ok(['SET', 'k', 'v'.repeat(1000)]), { limits });
  check(t, 'bulk one over, refused from the header alone', '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1001\r\n', fails(ProtocolErrors.invalidBulkLength), { limits });

  t.equal(defaultRequestLimits.bulkBytesMax, 512 * 1024 * 1024, 'default is proto-max-bulk-len 512 MiB');
  // 512 MiB is 24 bytes more than V8's longest string, so the effective default is that length.
  check(t, 'default: longest possible bulk header accepted (waits for data)', `*1\r\n$${stringLengthMax}\r\n`, ok());
  check(t, 'default: 512 MiB + 1 refused', `*1\r\n$${512 * 1024 * 1024 + 1}\r\n`, fails(ProtocolErrors.invalidBulkLength));
  check(t, 'default: past the longest string refused', `*1\r\n$${stringLengthMax + 1}\r\n`, fails(ProtocolErrors.invalidBulkLength));
});

t.test('limits: array length', async (t) => {
  check(t, 'custom limit: exactly', array('A', 'B', 'C'), ok(['A', 'B', 'C']), { limits: { arrayLengthMax: 3 } });
  check(t, 'custom limit: one over', array('A', 'B', 'C', 'D'), fails(ProtocolErrors.invalidArrayLength), { limits: { arrayLengthMax: 3 } });
  t.equal(defaultRequestLimits.arrayLengthMax, 1048576);
  check(t, 'default: 1048576 accepted (waits for items)', '*1048576\r\n', ok());
  check(t, 'default: 1048577 refused', '*1048577\r\n', fails(ProtocolErrors.invalidArrayLength));
});

t.test('limits: total command bytes', async (t) => {
  const limits = { commandBytesMax: 10 };
  check(t, 'exactly the limit', array('SET', 'kk', 'vvvvv'), ok(['SET', 'kk', 'vvvvv']), { limits });
  check(t, 'one over', array('SET', 'kk', 'vvvvvv'), fails(ProtocolErrors.tooBigCommand), { limits });
});

t.test('limits before AUTH', async (t) => {
  const unauth = { authenticated: false };
  const ten = Array.from({ length: 10 }, (_, i) => `a${i}`);
  check(t, '10 items accepted', array(...ten), ok(ten), unauth);
  check(t, '11 items refused', array(...ten, 'x'), fails(ProtocolErrors.unauthenticatedArrayLength), unauth);
  check(t, '11 items fine once authenticated', array(...ten, 'x'), ok([...ten, 'x']));
  check(t, '16 KiB bulk accepted', array('AUTH', 'p'.repeat(16384)), ok(['AUTH', 'p'.repeat(16384)]), unauth);
  check(t, '16 KiB + 1 refused from the header', '*2\r\n$4\r\nAUTH\r\n$16385\r\n', fails(ProtocolErrors.unauthenticatedBulkLength), unauth);
  check(t, 'the general limits come first', '*2\r\n$4\r\nAUTH\r\n$-3\r\n', fails(ProtocolErrors.invalidBulkLength), unauth);
  check(t, 'configurable', array('A', 'B', 'C'), fails(ProtocolErrors.unauthenticatedArrayLength), {
    authenticated: false,
    limits: { unauthenticatedArrayLengthMax: 2 },
  });

  const parser = new RequestParser();
  parser.setAuthenticated(false);
  parser.feed(b(array('AUTH', 'secret') + array(...ten, 'x')));
  t.same(parser.next(), ['AUTH', 'secret']);
  parser.setAuthenticated(true);
  t.same(parser.next(), [...ten, 'x'], 'authenticating between commands lifts the limit for the next one');
});

t.test('after an error the parser stays failed', async (t) => {
  const parser = new RequestParser();
  parser.feed(b('*1\r\n$x\r\n'));
  t.throws(() => parser.next(), new ProtocolError(ProtocolErrors.invalidBulkLength));
  parser.feed(b(array('PING')));
  t.throws(() => parser.next(), { message: ProtocolErrors.invalidBulkLength, code: 'ERR_RESP_PROTOCOL' });
});

t.test('backpressure: pulling one command at a time loses nothing', async (t) => {
  const parser = new RequestParser();
  parser.feed(b(array('A') + array('B') + 'C\r\n' + array('D').slice(0, 5)));
  t.same(parser.next(), ['A']);
  parser.feed(b(array('D').slice(5) + array('E')));
  t.same(parser.next(), ['B']);
  t.same(parser.next(), ['C']);
  t.same(parser.next(), ['D']);
  t.same(parser.next(), ['E']);
  t.equal(parser.next(), null);
  t.equal(parser.bufferedBytes, 0);
});

t.test('a big bulk across many chunks is joined once', async (t) => {
  const size = 8 * 1024 * 1024;
  const value = Buffer.alloc(size);
  for (let i = 0; i < size; i++) value[i] = (i * 31 + 7) & 0xff;
  const input = Buffer.concat([b(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${size}\r\n`), value, b('\r\n' + array('PING'))]);
  const parser = new RequestParser();
  const commands: string[][] = [];
  for (let i = 0; i < input.length; i += 65536) {
    parser.feed(input.subarray(i, i + 65536));
    for (let argv = parser.next(); argv !== null; argv = parser.next()) commands.push(argv);
  }
  t.equal(commands.length, 2);
  t.equal(commands[0][2].length, size);
  t.ok(Buffer.from(commands[0][2], 'latin1').equals(value), 'bulk bytes intact');
  t.same(commands[1], ['PING']);
  t.equal(parser.concatCount, 1, 'one Buffer.concat for 128 chunks');

  // A partial command left at the end of a big joined buffer does not keep the buffer alive.
  const tail = new RequestParser();
  tail.feed(input.subarray(0, 65536));
  tail.feed(Buffer.concat([input.subarray(65536), b('*1\r\n$4\r\nPI')]));
  t.equal(tail.next()?.[2].length, size);
  t.same(tail.next(), ['PING']);
  t.equal(tail.next(), null);
  t.equal(tail.bufferedBytes, 2, 'only the unread part of the partial command ("PI") is buffered');
  t.ok((tail as unknown as { buf: Buffer }).buf.buffer.byteLength < 65536, 'the 8 MB buffer is released');
  tail.feed(b('NG\r\n'));
  t.same(tail.next(), ['PING']);

  // Byte by byte, joins happen per header line and once per bulk: their number does not grow with the bulk.
  const joinsByteByByte = (valueBytes: number): number => {
    const input = b(array('SET', 'k', 'x'.repeat(valueBytes)));
    const parser = new RequestParser();
    let got: string[] | null = null;
    for (let i = 0; i < input.length; i++) {
      parser.feed(input.subarray(i, i + 1));
      got = parser.next() ?? got;
    }
    t.equal(got?.[2].length, valueBytes);
    return parser.concatCount;
  };
  t.equal(joinsByteByByte(100_000), joinsByteByByte(10_000), 'joins independent of bulk size');
  t.ok(joinsByteByByte(100_000) <= 12, 'at most 2 joins per header line + 1 per bulk');
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

t.test('garbage input parses or fails cleanly, the same under any split', async (t) => {
  const seed = Number(process.env.RESP_SEED ?? 20240601);
  const random = prng(seed);
  const alphabet = b('*$\r\n0123456789-+" \'\\xabPING');
  const mismatches: string[] = [];
  let errors = 0;
  let parsed = 0;
  for (let round = 0; round < 3000; round++) {
    const length = Math.floor(random() * 120);
    const input = Buffer.alloc(length);
    const mode = random();
    for (let i = 0; i < length; i++) {
      input[i] = mode < 0.3 ? Math.floor(random() * 256) : alphabet[Math.floor(random() * alphabet.length)];
    }
    const limits = { inlineBytesMax: 40, bulkBytesMax: 50, arrayLengthMax: 8 };
    const whole = parse([input], { limits });
    if (whole.error !== null) errors++;
    parsed += whole.commands.length;
    for (let k = 0; k < 3; k++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < length; ) {
        const n = 1 + Math.floor(random() * 8);
        chunks.push(input.subarray(i, i + n));
        i += n;
      }
      const split = parse(chunks, { limits }, random() < 0.5);
      if (JSON.stringify(split) !== JSON.stringify(whole)) {
        mismatches.push(`seed ${seed} round ${round}: ${JSON.stringify(input.toString('latin1'))}`);
      }
    }
  }
  t.same(mismatches.slice(0, 3), [], `reproduce: RESP_SEED=${seed}`);
  t.ok(errors > 100 && parsed > 100, `both outcomes exercised (${errors} errors, ${parsed} commands)`);
});
