// The one source of randomness of a fault run: a seeded PRNG (mulberry32), so the nemesis's
// schedule and every client's choices (keys, values, op mix) replay from the printed seed.
// Timing still differs between runs (real processes, real sockets), the decisions do not.

export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let x = this.state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  /** `count` distinct items, in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [copy[i], copy[j]] = [copy[j], copy[i]];
    }
    return copy.slice(0, count);
  }

  /** A child generator with its own stream, so one consumer's draws don't shift another's. */
  fork(salt: number): Prng {
    return new Prng((this.seed ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0);
  }
}

export function seedFromEnv(value: string | undefined): number {
  if (value !== undefined && value !== '') {
    const seed = Number(value);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`FAULTS_SEED must be an integer in 0..4294967295, got ${value}`);
    return seed;
  }
  return Math.floor(Math.random() * 0xffffffff);
}
