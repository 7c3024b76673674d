// The request parser: turns the bytes a client sends into commands (arrays of binary strings).
//
// It resumes across chunks and hands out one command per `next()` call, so a connection can stop
// pulling mid-buffer (backpressure) and continue later without losing bytes. It reads both RESP
// arrays of bulk strings and Redis's inline commands, and caps every size a client controls as
// soon as the header that announces it is read, with Redis's exact error texts.
//
// Why not the `redis-parser` npm package (v3.0.0, the parser ioredis and node-redis used): it
// parses *replies*, not requests. It has no inline commands (`PING\r\n` is a fatal "Protocol
// error, got "P" as reply type byte"), no limits at all (any bulk length or array count is
// believed and buffered), no validation of length digits (`$1x\r\n` becomes a garbage number),
// accepts nested arrays and non-bulk items a request must not contain, decodes strings as UTF-8
// or returns Buffers (binary strings would need a second copy per argument), and delivers every
// reply in a buffer through a callback with no way to pause mid-buffer. Adding all of that would
// rewrite most of it, so this is a small parser of our own, shaped after Redis's
// processMultibulkBuffer / processInlineBuffer.
//
// Buffering: input chunks are used in place while they last. When a command is cut by a chunk
// boundary, later chunks are queued untouched and joined with one Buffer.concat only once enough
// bytes for progress have arrived (the announced bulk length, or a line terminator), so a 100 MB
// bulk arriving in 64 KB chunks costs one concat, not one per chunk.
//
// Where we are stricter than Redis (all deterministic, none reachable by a well-formed client):
// a header line must end in "\r\n" (Redis only looks for '\r'), bulk data must be followed by
// "\r\n" (Redis skips two bytes unread), the first byte of an argument header is checked before
// its line is complete, and an inline line longer than the inline limit is refused even when it
// arrived whole (Redis only refuses it while its '\n' is missing).

import { latin1Slice } from './latin1';
import { resolveRequestLimits, type RequestLimits } from './limits';

/** A client broke the protocol. The message is Redis's text; the connection replies `-ERR <message>` and closes. */
export class ProtocolError extends Error {
  readonly code = 'ERR_RESP_PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const ProtocolErrors = {
  tooBigInline: 'Protocol error: too big inline request',
  unbalancedQuotes: 'Protocol error: unbalanced quotes in request',
  tooBigArrayHeader: 'Protocol error: too big mbulk count string',
  invalidArrayLength: 'Protocol error: invalid multibulk length',
  unauthenticatedArrayLength: 'Protocol error: unauthenticated multibulk length',
  tooBigBulkHeader: 'Protocol error: too big bulk count string',
  invalidBulkLength: 'Protocol error: invalid bulk length',
  unauthenticatedBulkLength: 'Protocol error: unauthenticated bulk length',
  expectedDollar: (got: number) => `Protocol error: expected '$', got '${String.fromCharCode(got)}'`,
  missingBulkCrlf: 'Protocol error: expected CRLF after bulk data',
  tooBigCommand: 'Protocol error: too big command (client-query-buffer-limit)',
} as const;

const EMPTY = Buffer.alloc(0);
const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;
/** Strings this short are built in JS; a native latin1Slice call costs more than the loop. */
const SHORT_STRING_BYTES = 12;
/** No array in progress. Never written: an array header always brings a fresh argv. */
const NO_ARGS: string[] = Object.freeze([]) as unknown as string[];
/** Arrays up to this many items get their argv allocated at full size from the `*N` header. */
const PRESIZED_ARGS_MAX = 64;
/** Past this size, a buffer kept only for a small unfinished tail is replaced by a copy of the tail. */
const RETAIN_BYTES_MAX = 256 * 1024;

export class RequestParser {
  private readonly limits: RequestLimits;
  private authenticated = true;
  private failure: ProtocolError | null = null;

  /** The chunk being parsed and the first byte not consumed yet. */
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Chunks fed while `buf` still had an unfinished command; joined when they can make progress. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingScanned = 0;
  /** What the unfinished command waits for: this many bytes from `pos`, or (if >= 0) this byte. */
  private wantBytes = 0;
  private wantByte = -1;

  /** The array being read: items so far, items still to read, and the current bulk length (-1: header next). */
  private argv: string[] = NO_ARGS;
  private argIndex = 0;
  private argsLeft = 0;
  private bulkLength = -1;
  private argvBytes = 0;

  private concats = 0;

  constructor(limits: Partial<RequestLimits> = {}) {
    this.limits = resolveRequestLimits(limits);
  }

  /** Before AUTH on a server with a password, arrays and bulks are capped much lower (as in Redis). */
  setAuthenticated(value: boolean): void {
    this.authenticated = value;
  }

  /** Queues input. Never parses, never throws: call `next()` to pull commands. */
  feed(chunk: Buffer): void {
    if (this.failure !== null || chunk.length === 0) return;
    if (this.pendingBytes === 0 && this.pos >= this.buf.length) {
      this.buf = chunk;
      this.pos = 0;
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /**
   * The next complete command, or null when more input is needed. Empty commands (`*0`, `*-1`,
   * blank inline lines) are skipped as Redis does. Throws ProtocolError on malformed input, and
   * keeps throwing it: the connection must be closed after replying the error.
   */
  next(): string[] | null {
    if (this.failure !== null) throw this.failure;
    for (;;) {
      const argv = this.parseOne();
      if (argv !== null) return argv;
      if (this.pendingBytes === 0 || !this.readyToJoin()) return null;
      this.join();
    }
  }

  /** Bytes received and not yet returned as commands (Redis's `qbuf`). */
  get bufferedBytes(): number {
    return this.buf.length - this.pos + this.pendingBytes + this.argvBytes;
  }

  /** How many Buffer.concat calls were made: lets tests prove big bulks are not copied per chunk. */
  get concatCount(): number {
    return this.concats;
  }

  private readyToJoin(): boolean {
    if (this.buf.length - this.pos + this.pendingBytes >= this.wantBytes) return true;
    if (this.wantByte < 0) return false;
    for (; this.pendingScanned < this.pending.length; this.pendingScanned++) {
      if (this.pending[this.pendingScanned].indexOf(this.wantByte) !== -1) return true;
    }
    return false;
  }

  private join(): void {
    const parts = this.pending;
    if (this.pos < this.buf.length) parts.unshift(this.buf.subarray(this.pos));
    if (parts.length === 1) {
      this.buf = parts[0];
    } else {
      this.concats++;
      this.buf = Buffer.concat(parts);
    }
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingScanned = 0;
  }

  private fail(message: string): never {
    this.failure = new ProtocolError(message);
    this.buf = EMPTY;
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.argv = NO_ARGS;
    this.argvBytes = 0;
    throw this.failure;
  }

  /** Waits for `bytes` bytes from `pos` (or, with `byte` >= 0, for that byte to arrive). Returns null. */
  private wait(bytes: number, byte: number): null {
    this.wantBytes = bytes;
    this.wantByte = byte;
    const left = this.buf.length - this.pos;
    if (left <= 0) {
      // Drop the reference to a consumed chunk: it may be large.
      this.buf = EMPTY;
      this.pos = 0;
    } else if (this.buf.length > RETAIN_BYTES_MAX && left * 8 < this.buf.length) {
      // A few bytes of the next command at the end of a big joined buffer: keep a copy, not the buffer.
      this.buf = Buffer.from(this.buf.subarray(this.pos));
      this.pos = 0;
    }
    return null;
  }

  private parseOne(): string[] | null {
    const buf = this.buf;
    const len = buf.length;
    for (;;) {
      let pos = this.pos;
      if (this.argsLeft === 0) {
        if (pos >= len) return this.wait(1, -1);
        if (buf[pos] !== STAR) {
          const argv = this.parseInline();
          if (argv === null) return null;
          if (argv.length === 0) continue;
          return argv;
        }
        const cr = this.headerEnd(pos, ProtocolErrors.tooBigArrayHeader);
        if (cr === -1) return null;
        const count = buf[cr + 1] === LF ? parseInteger(buf, pos + 1, cr) : NaN;
        if (Number.isNaN(count) || count > this.limits.arrayLengthMax) this.fail(ProtocolErrors.invalidArrayLength);
        if (!this.authenticated && count > this.limits.unauthenticatedArrayLengthMax) {
          this.fail(ProtocolErrors.unauthenticatedArrayLength);
        }
        this.pos = cr + 2;
        if (count <= 0) continue;
        this.argsLeft = count;
        // Sized from the header: grown by push() from empty, a 3-item argv gets room for 17 and
        // reallocates on the way (on a busy leader, ~100 bytes of garbage per command).
        this.argv = count <= PRESIZED_ARGS_MAX ? new Array<string>(count) : [];
        this.argIndex = 0;
        this.argvBytes = 0;
        this.bulkLength = -1;
      }

      while (this.argsLeft > 0) {
        pos = this.pos;
        let bulkLength = this.bulkLength;
        if (bulkLength < 0) {
          if (pos >= len) return this.wait(1, -1);
          if (buf[pos] !== DOLLAR) this.fail(ProtocolErrors.expectedDollar(buf[pos]));
          // Fast path for the common `$<1-9 digits>\r\n` with the whole line present.
          let cr = pos + 1;
          let digit = buf[cr] - 48;
          if (digit > 0 && digit <= 9) {
            bulkLength = 0;
            const end = Math.min(len, pos + 10);
            do {
              bulkLength = bulkLength * 10 + digit;
              digit = ++cr < end ? buf[cr] - 48 : -1;
            } while (digit >= 0 && digit <= 9);
            if (cr + 1 >= len || buf[cr] !== CR || buf[cr + 1] !== LF) cr = -1;
          } else {
            cr = -1;
          }
          if (cr === -1) {
            cr = this.headerEnd(pos, ProtocolErrors.tooBigBulkHeader);
            if (cr === -1) return null;
            bulkLength = buf[cr + 1] === LF ? parseInteger(buf, pos + 1, cr) : NaN;
          }
          if (Number.isNaN(bulkLength) || bulkLength < 0 || bulkLength > this.limits.bulkBytesMax) {
            this.fail(ProtocolErrors.invalidBulkLength);
          }
          if (!this.authenticated && bulkLength > this.limits.unauthenticatedBulkBytesMax) {
            this.fail(ProtocolErrors.unauthenticatedBulkLength);
          }
          if (this.argvBytes + bulkLength > this.limits.commandBytesMax) this.fail(ProtocolErrors.tooBigCommand);
          pos = this.pos = cr + 2;
          this.bulkLength = bulkLength;
        }
        const end = pos + bulkLength;
        if (end + 2 > len) return this.wait(bulkLength + 2, -1);
        if (buf[end] !== CR || buf[end + 1] !== LF) this.fail(ProtocolErrors.missingBulkCrlf);
        this.argv[this.argIndex++] = bulkLength <= SHORT_STRING_BYTES ? shortLatin1(buf, pos, end) : latin1Slice(buf, pos, end);
        this.argvBytes += bulkLength;
        this.pos = end + 2;
        this.bulkLength = -1;
        this.argsLeft--;
      }
      const argv = this.argv;
      this.argv = NO_ARGS;
      this.argvBytes = 0;
      if (this.pos >= len) this.wait(1, -1);
      return argv;
    }
  }

  /**
   * Index of the '\r' ending the header line (`*N` or `$N`) that starts at `start`, or -1 after
   * arranging to wait for the rest. The caller checks the '\n' after it.
   */
  private headerEnd(start: number, tooBig: string): number {
    const buf = this.buf;
    const len = buf.length;
    // Length lines are a few bytes: a short JS scan beats a native indexOf call.
    const quickEnd = Math.min(len, start + 24);
    let cr = start + 1;
    while (cr < quickEnd && buf[cr] !== CR) cr++;
    if (cr === quickEnd) cr = quickEnd < len ? buf.indexOf(CR, quickEnd) : -1;
    const lineBytesMax = this.limits.inlineBytesMax;
    if (cr === -1) {
      if (len - start > lineBytesMax) this.fail(tooBig);
      this.wait(lineBytesMax + 1, CR);
      return -1;
    }
    if (cr - start > lineBytesMax) this.fail(tooBig);
    if (cr + 1 >= len) {
      this.wait(cr + 2 - start, -1);
      return -1;
    }
    return cr;
  }

  private parseInline(): string[] | null {
    const buf = this.buf;
    const start = this.pos;
    const lineBytesMax = this.limits.inlineBytesMax;
    const lf = buf.indexOf(LF, start);
    if (lf === -1) {
      if (buf.length - start > lineBytesMax) this.fail(ProtocolErrors.tooBigInline);
      return this.wait(lineBytesMax + 1, LF);
    }
    if (lf - start > lineBytesMax) this.fail(ProtocolErrors.tooBigInline);
    let end = lf;
    if (end > start && buf[end - 1] === CR) end--;
    this.pos = lf + 1;
    const argv = splitInlineArgs(latin1Slice(buf, start, end));
    if (argv === null) this.fail(ProtocolErrors.unbalancedQuotes);
    return argv;
  }
}

function shortLatin1(buf: Buffer, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/**
 * Redis's string2ll on buf[start, end): optional '-', no '+', no leading zeros, no spaces, fits
 * in a signed 64-bit integer. NaN when invalid. Values past 2^53 lose precision, which is fine:
 * they are far beyond every limit, and only their sign matters then.
 */
export function parseInteger(buf: Buffer, start: number, end: number): number {
  const digitsStart = buf[start] === 45 ? start + 1 : start;
  const digits = end - digitsStart;
  if (digits <= 0 || digits > 19) return NaN;
  if (digits === 1 && buf[digitsStart] === 48) return digitsStart === start ? 0 : NaN;
  if (buf[digitsStart] === 48) return NaN;
  let value = 0;
  for (let i = digitsStart; i < end; i++) {
    const digit = buf[i] - 48;
    if (digit < 0 || digit > 9) return NaN;
    value = value * 10 + digit;
  }
  if (digits === 19) {
    const limit = digitsStart === start ? '9223372036854775807' : '9223372036854775808';
    if (latin1Slice(buf, digitsStart, end) > limit) return NaN;
  }
  return digitsStart === start ? value : -value;
}

function isSpace(c: number): boolean {
  // C isspace() in the C locale: space, \t, \n, \v, \f, \r.
  return c === 32 || (c >= 9 && c <= 13);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Redis's sdssplitargs: arguments separated by blanks; "double quotes" with \n \r \t \b \a \xHH
 * and \<any> escapes; 'single quotes' with \' only; a closing quote must be followed by a blank
 * or the end. The line is a C string there, so it ends at the first NUL byte. Null when the
 * quotes are unbalanced.
 */
export function splitInlineArgs(line: string): string[] | null {
  const nul = line.indexOf('\0');
  if (nul !== -1) line = line.slice(0, nul);
  const n = line.length;
  const args: string[] = [];
  let p = 0;
  for (;;) {
    while (p < n && isSpace(line.charCodeAt(p))) p++;
    if (p >= n) return args;
    let current = '';
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      const c = p < n ? line.charCodeAt(p) : 0;
      if (inDouble) {
        if (c === 92 /* \ */ && p + 1 < n) {
          const next = line.charCodeAt(p + 1);
          const hi = next === 120 /* x */ && p + 3 < n ? hexValue(line.charCodeAt(p + 2)) : -1;
          const lo = hi >= 0 ? hexValue(line.charCodeAt(p + 3)) : -1;
          if (lo >= 0) {
            current += String.fromCharCode(hi * 16 + lo);
            p += 3;
          } else {
            p++;
            switch (next) {
              case 110: current += '\n'; break;
              case 114: current += '\r'; break;
              case 116: current += '\t'; break;
              case 98: current += '\b'; break;
              case 97: current += '\x07'; break;
              default: current += line[p]; break;
            }
          }
        } else if (c === 34 /* " */) {
          if (p + 1 < n && !isSpace(line.charCodeAt(p + 1))) return null;
          done = true;
        } else if (p >= n) {
          return null;
        } else {
          current += line[p];
        }
      } else if (inSingle) {
        if (c === 92 && p + 1 < n && line.charCodeAt(p + 1) === 39) {
          p++;
          current += "'";
        } else if (c === 39 /* ' */) {
          if (p + 1 < n && !isSpace(line.charCodeAt(p + 1))) return null;
          done = true;
        } else if (p >= n) {
          return null;
        } else {
          current += line[p];
        }
      } else if (p >= n || c === 32 || c === 10 || c === 13 || c === 9) {
        done = true;
      } else if (c === 34) {
        inDouble = true;
      } else if (c === 39) {
        inSingle = true;
      } else {
        current += line[p];
      }
      if (p < n) p++;
    }
    args.push(current);
  }
}
