// Redis's script PRNG (rand.c): the 48-bit linear congruential generator of lrand48, reseeded to 0
// before every script, so math.random gives the same sequence on every replica and on Redis.

const MULTIPLIER = 0x5deece66dn;
const INCREMENT = 0xbn;
const MASK_48 = (1n << 48n) - 1n;

export class Rand48 {
  /** REDIS_LRAND48_MAX: math.random divides by it. */
  static readonly MAX = 2147483647;
  private state = 0x330en;

  /** redisSrand48: the high 32 bits from the seed, the low 16 bits 0x330E. */
  seed(seed: number): void {
    this.state = ((BigInt(seed >>> 0) << 16n) | 0x330en) & MASK_48;
  }

  /** redisLrand48: the next 31-bit value. */
  next(): number {
    this.state = (this.state * MULTIPLIER + INCREMENT) & MASK_48;
    return Number(this.state >> 17n) % Rand48.MAX;
  }
}
