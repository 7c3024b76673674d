// Argument parsing with Redis's exact acceptance rules (string2ll, string2d).
//
// Clients rely on the edges: "01", "+1", " 1" and "1.0" are not integers to Redis, "inf" is a
// valid score, and an int64 that does not fit a JS number must still be exact (INCRBY).

const INT_RE = /^(?:0|-?[1-9][0-9]*)$/;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Redis string2ll: an int64 written canonically. Returns a number when it is a safe integer,
 * a bigint for the rest of the int64 range, null when it is not an int64.
 */
export function parseInt64(text: string): number | bigint | null {
  if (text.length === 0 || text.length > 20 || !INT_RE.test(text)) return null;
  if (text.length <= 15) return Number(text);
  const value = BigInt(text);
  if (value > INT64_MAX || value < INT64_MIN) return null;
  if (value <= SAFE_MAX && value >= -SAFE_MAX) return Number(value);
  return value;
}

/** parseInt64 as a bigint (for exact 64-bit arithmetic). */
export function parseInt64Big(text: string): bigint | null {
  const value = parseInt64(text);
  return value === null ? null : BigInt(value);
}

/** parseInt64 where only the magnitude matters (indexes, counts): big values become approximate numbers. */
export function parseIntApprox(text: string): number | null {
  const value = parseInt64(text);
  return value === null ? null : Number(value);
}

export function isInt64(value: bigint): boolean {
  return value <= INT64_MAX && value >= INT64_MIN;
}

/** An int64 result as a Reply-able integer: a number when safe, else a bigint. */
export function intReply(value: bigint): number | bigint {
  return value <= SAFE_MAX && value >= -SAFE_MAX ? Number(value) : value;
}

const FLOAT_RE = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const INF_RE = /^([+-]?)(?:inf|infinity)$/i;

/**
 * Redis string2d (strtod without leading space or trailing bytes, NaN refused, overflow and
 * underflow refused). Hexadecimal floats are not accepted.
 */
export function parseDouble(text: string): number | null {
  if (FLOAT_RE.test(text)) {
    const value = Number(text);
    if (!Number.isFinite(value)) return null; // overflow (ERANGE)
    if (value === 0 && /[1-9]/.test(text.split(/[eE]/)[0])) return null; // underflow (ERANGE)
    return value;
  }
  const inf = INF_RE.exec(text);
  if (inf !== null) return inf[1] === '-' ? -Infinity : Infinity;
  return null;
}

/** A score range bound for ZRANGEBYSCORE & co: `(` makes it exclusive; overflow to inf is allowed (strtod). */
export interface ScoreBound {
  readonly value: number;
  readonly exclusive: boolean;
}

export function parseScoreBound(text: string): ScoreBound | null {
  let exclusive = false;
  if (text.startsWith('(')) {
    exclusive = true;
    text = text.slice(1);
  }
  let value: number | null;
  if (FLOAT_RE.test(text)) value = Number(text);
  else value = parseDouble(text);
  if (value === null || Number.isNaN(value)) return null;
  return { value, exclusive };
}
