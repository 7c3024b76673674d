// The reply encoder: Reply values (reply.ts) to RESP2 or RESP3 bytes.
//
// A connection appends every reply of a pipeline into one ReplyWriter and hands the socket one
// Buffer per flush (`take()`), so sixteen pipelined replies cost one socket write. Bytes go
// straight into a slab Buffer: measured against building a latin1 JS string and converting it
// once per flush, writing bytes was 2-3x faster for +OK / short bulks / integers and 1.5x for
// arrays and 1 KiB bulks (bench/resp_encoder.ts). Short strings are copied with a JS loop;
// longer ones with the native latin1 writer, whose call overhead only pays off past ~64 chars.
//
// Text is made line-safe where RESP needs it: CR and LF inside simple strings and errors become
// spaces, as Redis's addReplyError does; bulk strings are length-prefixed and carry any byte.

import assert from 'node:assert';
import { latin1Write } from './latin1';
import {
  BigNumberReply,
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArray,
  OK,
  PushReply,
  SetReply,
  SimpleString,
  VerbatimReply,
  type Reply,
} from './reply';

export type Protocol = 2 | 3;

/** Pre-encoded hot replies, valid in both protocols unless named otherwise. */
export const Encoded = Object.freeze({
  ok: Buffer.from('+OK\r\n', 'latin1'),
  zero: Buffer.from(':0\r\n', 'latin1'),
  one: Buffer.from(':1\r\n', 'latin1'),
  /** RESP2 null bulk string; RESP3 uses `nullResp3`. */
  nullBulk: Buffer.from('$-1\r\n', 'latin1'),
  nullResp3: Buffer.from('_\r\n', 'latin1'),
});

/** Slabs start this big (Redis keeps a 16 KiB reply buffer per client too) and adapt to the flush size. */
const SLAB_BYTES = 16 * 1024;
const SLAB_BYTES_MAX = 1024 * 1024;
/** After a flush, a slab with less room than this is dropped rather than kept for the next replies. */
const SLAB_REUSE_MIN_BYTES = 2 * 1024;
/** Strings up to this length are copied by a JS loop; longer ones by one native call. */
const SHORT_STRING_CHARS = 64;
/** Room for a type byte, a 64-bit integer, and CRLF. */
const HEADER_BYTES = 24;

const EMPTY = Buffer.alloc(0);
const CR = 13;
const LF = 10;

const enum Type {
  Simple = 43, // +
  Error = 45, // -
  Integer = 58, // :
  Bulk = 36, // $
  Array = 42, // *
  Null = 95, // _
  Double = 44, // ,
  Bool = 35, // #
  Verbatim = 61, // =
  BigNumber = 40, // (
  Map = 37, // %
  Set = 126, // ~
  Push = 62, // >
}

/** Accumulates encoded replies; `take()` hands them out as one Buffer. */
export class ReplyWriter {
  private buf: Buffer = EMPTY;
  /** First byte not taken yet, and the next byte to write. */
  private start = 0;
  private pos = 0;
  /** Size of the next slab: about twice the recent flush size, so a pipeline rarely outgrows one. */
  private slabBytes = SLAB_BYTES;

  /** Bytes written and not taken yet. */
  get pendingBytes(): number {
    return this.pos - this.start;
  }

  /** Everything written since the last take, as one Buffer (a view of the slab: don't modify it). */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    if (out.length * 2 > this.slabBytes && this.slabBytes < SLAB_BYTES_MAX) {
      this.slabBytes = Math.min(SLAB_BYTES_MAX, this.slabBytes * 2);
    } else if (out.length * 8 < this.slabBytes && this.slabBytes > SLAB_BYTES) {
      this.slabBytes /= 2;
    }
    if (this.buf.length > this.slabBytes || this.buf.length - this.pos < SLAB_REUSE_MIN_BYTES) {
      // Drop grown or nearly full slabs, so an idle connection keeps at most one small slab.
      this.buf = EMPTY;
      this.start = this.pos = 0;
    }
    return out;
  }

  /** Appends bytes encoded elsewhere (see `Encoded`). */
  writeEncoded(bytes: Buffer): void {
    const n = bytes.length;
    this.reserve(n);
    if (n <= SHORT_STRING_CHARS) {
      const buf = this.buf;
      const pos = this.pos;
      for (let i = 0; i < n; i++) buf[pos + i] = bytes[i];
    } else {
      bytes.copy(this.buf, this.pos);
    }
    this.pos += n;
  }

  write(reply: Reply, protocol: Protocol): void {
    if (typeof reply === 'string') {
      this.bulk(reply);
    } else if (typeof reply === 'number') {
      this.reserve(HEADER_BYTES);
      this.buf[this.pos++] = Type.Integer;
      this.integer(reply);
      this.crlf();
    } else if (reply === null) {
      this.nil(protocol);
    } else if (reply === OK) {
      this.writeEncoded(Encoded.ok);
    } else if (Array.isArray(reply)) {
      this.aggregate(Type.Array, reply.length);
      for (let i = 0; i < reply.length; i++) this.write(reply[i], protocol);
    } else if (reply instanceof SimpleString) {
      this.line(Type.Simple, reply.value);
    } else if (reply instanceof ErrorReply) {
      this.line(Type.Error, reply.message);
    } else if (typeof reply === 'bigint') {
      this.line(Type.Integer, reply.toString());
    } else if (reply instanceof MapReply) {
      const entries = reply.entries;
      if (protocol === 3) this.aggregate(Type.Map, entries.length);
      else this.aggregate(Type.Array, entries.length * 2);
      for (let i = 0; i < entries.length; i++) {
        this.write(entries[i][0], protocol);
        this.write(entries[i][1], protocol);
      }
    } else if (reply instanceof SetReply || reply instanceof PushReply) {
      const type = protocol === 2 ? Type.Array : reply instanceof SetReply ? Type.Set : Type.Push;
      this.aggregate(type, reply.items.length);
      for (let i = 0; i < reply.items.length; i++) this.write(reply.items[i], protocol);
    } else if (reply instanceof NullArray) {
      if (protocol === 3) this.writeEncoded(Encoded.nullResp3);
      else this.line(Type.Array, '-1');
    } else if (reply instanceof DoubleReply) {
      const text = formatDouble(reply.value);
      if (protocol === 3) this.line(Type.Double, text);
      else this.bulk(text);
    } else if (reply instanceof BoolReply) {
      if (protocol === 3) this.line(Type.Bool, reply.value ? 't' : 'f');
      else this.writeEncoded(reply.value ? Encoded.one : Encoded.zero);
    } else if (reply instanceof VerbatimReply) {
      if (reply.format.length !== 3) assert.fail(`verbatim format must be 3 chars, got '${reply.format}'`);
      if (protocol === 3) this.bulk(`${reply.format}:${reply.text}`, Type.Verbatim);
      else this.bulk(reply.text);
    } else if (reply instanceof BigNumberReply) {
      if (protocol === 3) this.line(Type.BigNumber, reply.digits);
      else this.bulk(reply.digits);
    } else {
      assert.fail(`not a Reply: ${describe(reply)}`);
    }
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const used = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.slabBytes, 2 * used + bytes));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = used;
  }

  private crlf(): void {
    this.buf[this.pos++] = CR;
    this.buf[this.pos++] = LF;
  }

  private nil(protocol: Protocol): void {
    this.writeEncoded(protocol === 3 ? Encoded.nullResp3 : Encoded.nullBulk);
  }

  private aggregate(type: Type, count: number): void {
    this.reserve(HEADER_BYTES);
    this.buf[this.pos++] = type;
    this.integer(count);
    this.crlf();
  }

  /** `$len\r\n<bytes>\r\n` (or another length-prefixed type). */
  private bulk(text: string, type: Type = Type.Bulk): void {
    this.reserve(text.length + 2 * HEADER_BYTES);
    this.buf[this.pos++] = type;
    this.integer(text.length);
    this.crlf();
    this.chars(text);
    this.crlf();
  }

  /** `<type><text>\r\n`, with CR/LF in the text turned into spaces. */
  private line(type: Type, text: string): void {
    if (text.indexOf('\r') !== -1 || text.indexOf('\n') !== -1) text = text.replace(/[\r\n]/g, ' ');
    this.reserve(text.length + HEADER_BYTES);
    this.buf[this.pos++] = type;
    this.chars(text);
    this.crlf();
  }

  /** Copies a binary string; room was reserved. */
  private chars(text: string): void {
    const n = text.length;
    if (n <= SHORT_STRING_CHARS) {
      const buf = this.buf;
      const pos = this.pos;
      for (let i = 0; i < n; i++) buf[pos + i] = text.charCodeAt(i);
      this.pos = pos + n;
    } else {
      this.pos += latin1Write(this.buf, text, this.pos);
    }
  }

  /** Decimal digits of an integer; HEADER_BYTES of room were reserved. */
  private integer(value: number): void {
    if (!Number.isInteger(value)) assert.fail(`integer reply must be an integer, got ${value}`);
    const buf = this.buf;
    let pos = this.pos;
    let n = value;
    if (n < 0) {
      buf[pos++] = 45;
      n = -n;
    }
    if (n < 10) {
      buf[pos++] = 48 + n;
    } else if (n <= Number.MAX_SAFE_INTEGER) {
      // Fill from the last digit; % and the exact division below never round.
      let digits = 1;
      for (let power = 10; power <= n; power *= 10) digits++;
      pos += digits;
      for (let i = pos - 1; n >= 10; i--) {
        const digit = n % 10;
        buf[i] = 48 + digit;
        n = (n - digit) / 10;
      }
      buf[pos - digits] = 48 + n;
    } else {
      // Past 2^53 a number is still an exact integer; print all its digits, not "1e+21".
      const digits = BigInt(n).toString();
      pos += latin1Write(buf, digits, pos);
    }
    this.pos = pos;
  }
}

/** Encodes one reply on its own (tests, one-off messages). The hot path uses a ReplyWriter. */
export function encodeReply(reply: Reply, protocol: Protocol): Buffer {
  const writer = new ReplyWriter();
  writer.write(reply, protocol);
  return Buffer.from(writer.take());
}

/**
 * A double as Redis prints it: `inf`, `-inf`, `nan`, else C's `%.17g`: 17 significant digits
 * rounded half-to-even from the exact binary value (as glibc does; JS's toFixed rounds ties up),
 * trailing zeros dropped, exponent form below 1e-4 and from 1e17 on. Doubles are rare replies,
 * so exactness wins over speed here: the exact decimal expansion comes from BigInt.
 */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const precision = 17;
  const sign = value < 0 ? '-' : '';
  let { digits, exponent } = exactDecimal(Math.abs(value));
  if (digits.length > precision) {
    const rest = digits.slice(precision);
    let head = digits.slice(0, precision);
    const first = rest.charCodeAt(0) - 48;
    const tie = first === 5 && /^50*$/.test(rest);
    const lastOdd = (head.charCodeAt(precision - 1) - 48) % 2 === 1;
    if (first > 5 || (first === 5 && !tie) || (tie && lastOdd)) {
      head = (BigInt(head) + 1n).toString();
      if (head.length > precision) {
        head = head.slice(0, precision);
        exponent++;
      }
    }
    digits = head;
  }
  digits = digits.padEnd(precision, '0');
  if (exponent < -4 || exponent >= precision) {
    const mantissa = stripZeros(`${digits[0]}.${digits.slice(1)}`);
    const exponentDigits = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${exponentDigits}`;
  }
  if (exponent < 0) return `${sign}${stripZeros(`0.${'0'.repeat(-exponent - 1)}${digits}`)}`;
  return `${sign}${stripZeros(`${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`)}`;
}

/** The exact decimal digits of a positive finite double, and the power of ten of the first digit. */
function exactDecimal(value: number): { digits: string; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  let binaryExponent = -1074;
  if (biased !== 0) {
    mantissa |= 1n << 52n;
    binaryExponent = biased - 1075;
  }
  let digits: string;
  let scale: number; // value = digits * 10^scale
  if (binaryExponent >= 0) {
    digits = (mantissa << BigInt(binaryExponent)).toString();
    scale = 0;
  } else {
    digits = (mantissa * 5n ** BigInt(-binaryExponent)).toString();
    scale = binaryExponent;
  }
  const trimmed = digits.replace(/0+$/, '');
  scale += digits.length - trimmed.length;
  return { digits: trimmed, exponent: trimmed.length - 1 + scale };
}

function stripZeros(fixed: string): string {
  if (fixed.indexOf('.') === -1) return fixed;
  let end = fixed.length;
  while (fixed.charCodeAt(end - 1) === 48) end--;
  if (fixed.charCodeAt(end - 1) === 46) end--;
  return fixed.slice(0, end);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null) return `object ${value.constructor?.name ?? 'Object'}`;
  return `${typeof value} ${String(value)}`;
}
