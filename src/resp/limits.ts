// Size and count limits for requests, in one place so the parser, the config and the tests agree.
//
// Every number here is something a client controls; without a cap one connection could make the
// server buffer gigabytes before the first byte of a command is looked at. The defaults are
// Redis 7's (networking.c, config.c), except the array length cap, which Redis 6 had (1024*1024)
// and which we keep: no lock command needs more than a million arguments.

import assert from 'node:assert';
import { constants as bufferConstants } from 'node:buffer';

export interface RequestLimits {
  /** Longest inline line (bytes up to its '\n') and longest `*N`/`$N` header line. Redis PROTO_INLINE_MAX_SIZE. */
  inlineBytesMax: number;
  /** Longest bulk argument. Redis `proto-max-bulk-len`. Clamped to what fits in one JS string. */
  bulkBytesMax: number;
  /** Most arguments in one RESP array request. */
  arrayLengthMax: number;
  /** Most arguments in one array request before AUTH, when a password is set. Redis: 10. */
  unauthenticatedArrayLengthMax: number;
  /** Longest bulk argument before AUTH, when a password is set. Redis: 16384. */
  unauthenticatedBulkBytesMax: number;
  /** Most argument bytes in one command, summed. Redis `client-query-buffer-limit` (1 GiB). */
  commandBytesMax: number;
}

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** V8's longest string: a bulk longer than this cannot become a binary string at all. */
export const stringLengthMax: number = bufferConstants.MAX_STRING_LENGTH;

export const defaultRequestLimits: Readonly<RequestLimits> = Object.freeze({
  inlineBytesMax: 64 * KiB,
  bulkBytesMax: 512 * MiB,
  arrayLengthMax: 1024 * 1024,
  unauthenticatedArrayLengthMax: 10,
  unauthenticatedBulkBytesMax: 16 * KiB,
  commandBytesMax: 1024 * MiB,
});

/** Fills in defaults for missing fields and checks the values make sense (programmer error otherwise). */
export function resolveRequestLimits(partial: Partial<RequestLimits> = {}): RequestLimits {
  const limits: RequestLimits = { ...defaultRequestLimits };
  for (const key of Object.keys(defaultRequestLimits) as Array<keyof RequestLimits>) {
    const value = partial[key];
    if (value === undefined) continue;
    assert(Number.isSafeInteger(value) && value >= 0, `request limit ${key} must be a non-negative integer, got ${value}`);
    limits[key] = value;
  }
  if (limits.bulkBytesMax > stringLengthMax) limits.bulkBytesMax = stringLengthMax;
  return limits;
}
