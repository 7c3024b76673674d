// Number <-> text the way Redis's Lua 5.1 does it, so scripts print and send the same bytes as on Redis.
//
// Three different conversions exist there and a script can observe each of them:
//  - `tostring(n)` / `'x' .. n` use C's "%.14g" (Lua 5.1 LUA_NUMBER_FMT): 1.7e12 -> "1700000000000",
//    2.0 -> "2", 1e15 -> "1e+15", 0.1 -> "0.1";
//  - redis.call arguments: integral values print as integers (no exponent), others in the shortest
//    round-trip form (Redis 7.2's fpconv_dtoa): 1.7e12 -> "1700000000000", 0.1 -> "0.1";
//  - a RESP2 double reply (ZSCORE...) is a bulk string in the shortest round-trip form as well.

const INT64_LIMIT = 9223372036854775808; // 2^63, exactly representable

/** C printf "%.14g" (with inf/nan spelled as glibc prints them). */
export function formatG14(n: number): string {
  if (Number.isInteger(n) && n < 1e14 && n > -1e14 && !Object.is(n, -0)) return String(n); // the common case
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const exponential = n.toExponential(13); // d.ddddddddddddde±x, rounded to 14 significant digits
  const ePos = exponential.indexOf('e');
  const exponent = Number(exponential.slice(ePos + 1));
  if (exponent < -4 || exponent >= 14) {
    const mantissa = stripZeros(exponential.slice(0, ePos));
    const sign = exponent < 0 ? '-' : '+';
    const digits = String(Math.abs(exponent));
    return `${mantissa}e${sign}${digits.length < 2 ? '0' + digits : digits}`;
  }
  return stripZeros(n.toFixed(13 - exponent));
}

function stripZeros(fixed: string): string {
  if (fixed.indexOf('.') === -1) return fixed;
  let end = fixed.length;
  while (fixed.charCodeAt(end - 1) === 48) end--; // '0'
  if (fixed.charCodeAt(end - 1) === 46) end--; // '.'
  return fixed.slice(0, end);
}

/** Shortest text that reads back as the same double (fpconv_dtoa style exponents: 1e+21, 1e-07). */
export function formatShortest(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
  const text = String(n);
  const ePos = text.indexOf('e');
  if (ePos === -1) return text;
  const exponent = text.slice(ePos + 2);
  return `${text.slice(0, ePos)}e${text[ePos + 1]}${exponent.length < 2 ? '0' + exponent : exponent}`;
}

/** A number passed to redis.call: an integer when it is one (double2ll), else the shortest form. */
export function formatCallArgument(n: number): string {
  if (Number.isInteger(n) && n >= -INT64_LIMIT && n < INT64_LIMIT) {
    return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
  }
  return formatShortest(n);
}

/**
 * A Lua number returned by a script becomes an integer reply, truncated toward zero like C's
 * `(long long)` cast. Out-of-range values (and NaN) give LLONG_MIN, which is what x86-64 produces.
 */
export function truncateToInteger(n: number): number | bigint {
  const truncated = Math.trunc(n);
  if (Number.isSafeInteger(truncated)) return Object.is(truncated, -0) ? 0 : truncated;
  if (Number.isNaN(n) || truncated >= INT64_LIMIT || truncated < -INT64_LIMIT) return -(2n ** 63n);
  return BigInt(truncated);
}
