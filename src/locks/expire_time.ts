// Turning an expire argument (EX/PX/EXAT/PXAT, EXPIRE..., LOCK ttl) into a logical deadline,
// with Redis's checks and its error texts.
//
// Relative times add to the entry's logical now; absolute (Unix) times are moved onto the logical
// timeline by subtracting the clock offset (see state_machine.ts). Anything past 2^53-1 ms is
// refused: JS numbers stay exact below it, and no TTL needs more (redlock's tests use ~9.007e14).

import { Errors, type ErrorReply } from '../resp/reply';
import { isInt64, parseInt64 } from './parse';
import type { Keyspace } from './keyspace';
import type { ExecContext } from './types';

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

export interface ExpireSpec {
  readonly unitMs: 1 | 1000;
  readonly absolute: boolean;
}

export const EX: ExpireSpec = { unitMs: 1000, absolute: false };
export const PX: ExpireSpec = { unitMs: 1, absolute: false };
export const EXAT: ExpireSpec = { unitMs: 1000, absolute: true };
export const PXAT: ExpireSpec = { unitMs: 1, absolute: true };

/**
 * Parses `text` and returns the logical deadline in ms (which may be in the past) or an error.
 * `positiveOnly`: SET/GETEX/LOCK refuse values <= 0; EXPIRE & co accept them (the key is deleted).
 */
export function resolveExpire(
  state: Keyspace,
  ctx: ExecContext,
  text: string,
  spec: ExpireSpec,
  commandName: string,
  positiveOnly: boolean,
): number | ErrorReply {
  const value = parseInt64(text);
  if (value === null) return Errors.notInteger;
  if (positiveOnly && value <= 0) return Errors.invalidExpire(commandName);
  const base = spec.absolute ? 0 : ctx.nowMs;
  let when: number;
  if (typeof value === 'bigint') {
    const scaled = value * BigInt(spec.unitMs);
    if (!isInt64(scaled)) return Errors.invalidExpire(commandName);
    const sum = scaled + BigInt(base);
    if (sum > SAFE_MAX || !isInt64(sum)) return Errors.invalidExpire(commandName);
    when = Number(sum);
  } else {
    when = value * spec.unitMs + base; // exact whenever it is <= 2^53-1
    if (when > Number.MAX_SAFE_INTEGER) return Errors.invalidExpire(commandName);
  }
  return spec.absolute ? when - state.offsetMs : when;
}
