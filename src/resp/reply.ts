// Reply values: what a command produces, independent of the protocol version.
//
// The encoder (src/resp/encoder.ts) turns a Reply into RESP2 or RESP3 bytes for one
// connection. Command handlers, the state machine and the Lua bridge all build these values,
// so they never need to know which protocol the caller speaks.
//
// Strings are "binary strings": every char code is one byte (0..255), the way
// Buffer#toString('latin1') produces them. Keys, values and arguments travel through the whole
// server in this form, so bytes round-trip exactly and no Buffer is kept per stored value.
// Text the server makes up itself (INFO, error messages) is plain ASCII, which is the same thing.

/** A reply value. Plain JS values cover the hot cases without allocating a wrapper. */
export type Reply =
  | null // null bulk string: `$-1` (RESP2), `_` (RESP3)
  | number // integer reply `:n` (must be an integer)
  | bigint // integer reply beyond 2^53
  | string // bulk string (binary string, see above)
  | Reply[] // array
  | SimpleString
  | ErrorReply
  | NullArray
  | MapReply
  | SetReply
  | DoubleReply
  | BoolReply
  | VerbatimReply
  | BigNumberReply
  | PushReply;

/** `+OK`: a status line. Must not contain CR or LF. */
export class SimpleString {
  constructor(readonly value: string) {}
}

/** `-CODE message`: the first word is the error code (ERR, WRONGTYPE, NOSCRIPT...). No leading '-'. */
export class ErrorReply {
  constructor(readonly message: string) {}
  get code(): string {
    const space = this.message.indexOf(' ');
    return space === -1 ? this.message : this.message.slice(0, space);
  }
}

/** The RESP2 null array `*-1` (RESP3 `_`), used by a few commands instead of a null bulk string. */
export class NullArray {
  private constructor() {}
  static readonly instance = new NullArray();
}

/** A map: RESP3 `%`, RESP2 a flat array of key, value, key, value... */
export class MapReply {
  constructor(readonly entries: Array<[Reply, Reply]>) {}
}

/** A set: RESP3 `~`, RESP2 an array. */
export class SetReply {
  constructor(readonly items: Reply[]) {}
}

/** A double: RESP3 `,`, RESP2 a bulk string in Redis's %.17g style. */
export class DoubleReply {
  constructor(readonly value: number) {}
}

/** A boolean: RESP3 `#t`/`#f`, RESP2 the integers 1/0. */
export class BoolReply {
  constructor(readonly value: boolean) {}
}

/** A verbatim string: RESP3 `=len\r\ntxt:...`, RESP2 a bulk string. `format` is three chars. */
export class VerbatimReply {
  constructor(
    readonly format: string,
    readonly text: string,
  ) {}
}

/** A big number: RESP3 `(`, RESP2 a bulk string of its digits. */
export class BigNumberReply {
  constructor(readonly digits: string) {}
}

/** An out-of-band push (pub/sub messages): RESP3 `>`, RESP2 an array. */
export class PushReply {
  constructor(readonly items: Reply[]) {}
}

export const OK = new SimpleString('OK');
export const PONG = new SimpleString('PONG');
export const QUEUED = new SimpleString('QUEUED');

/** Builds an error reply. `message` starts with its code: `ERR ...`, `WRONGTYPE ...`. */
export function err(message: string): ErrorReply {
  return new ErrorReply(message);
}

/** Redis's exact error texts, shared by every command family. */
export const Errors = {
  syntax: new ErrorReply('ERR syntax error'),
  notInteger: new ErrorReply('ERR value is not an integer or out of range'),
  notFloat: new ErrorReply('ERR value is not a valid float'),
  wrongType: new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value'),
  noScript: new ErrorReply('NOSCRIPT No matching script. Please use EVAL.'),
  noAuth: new ErrorReply('NOAUTH Authentication required.'),
  overflow: new ErrorReply('ERR increment or decrement would overflow'),
  dbIndexOutOfRange: new ErrorReply('ERR DB index is out of range'),
  wrongArity: (fullName: string) => new ErrorReply(`ERR wrong number of arguments for '${fullName}' command`),
  invalidExpire: (fullName: string) => new ErrorReply(`ERR invalid expire time in '${fullName}' command`),
} as const;

export function isError(reply: Reply): reply is ErrorReply {
  return reply instanceof ErrorReply;
}
