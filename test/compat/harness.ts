// Shared shape of every compatibility test: a lock library is adapted to one tiny interface
// (run a critical section while holding the lock), and the same contention workload runs on it.
// The workload is a read-modify-write of a shared counter with a forced pause in the middle, so
// it loses updates unless the lock really excludes; counter.test.ts proves it does lose them
// without a lock. Every contender uses its own connections, as separate processes would.

import Redis from 'ioredis';
import type { Target } from './target';
import { waitFor } from './target';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** One contender: `withLock` acquires (retrying as long as it takes), runs `critical`, releases. */
export interface Contender {
  withLock(critical: () => Promise<void>): Promise<void>;
}

export interface ContentionResult {
  readonly count: number;
  readonly expected: number;
  /** Most critical sections observed running at the same time in this process (1 when the lock excludes). */
  readonly maxConcurrent: number;
}

/** TTL of the locks the expiry tests let run out: long enough to see them held first, even on a loaded machine. */
export const SHORT_TTL_MS = 500;
export const CONTENDERS = 20;
export const ITERATIONS = 5;
/** Library retry settings for contenders: bounded (>= 15 s of retrying), so a broken server fails the test instead of hanging it. */
export const RETRY_MS = 5;
export const RETRIES = 3000;
/** The whole contention run must finish within this, or it fails with how far it got. */
export const CONTENTION_DEADLINE_MS = 45_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `contenders.length` workers, each doing `iterations` rounds of: lock, GET counter, pause,
 * SET counter+1, unlock. Every worker reads and writes the counter on its own ioredis connection.
 */
export async function runContention(
  t: Teardown,
  target: Target,
  counterKey: string,
  contenders: readonly Contender[],
  iterations = ITERATIONS,
  options: { db?: number; dataTargets?: readonly Target[] } = {},
): Promise<ContentionResult> {
  const data = await Promise.all(
    contenders.map(async (_, i) => {
      // Contender i reads and writes through dataTargets[i % n] when given (e.g. different nodes of one cluster).
      const where = options.dataTargets ? options.dataTargets[i % options.dataTargets.length] : target;
      const client = new Redis({ host: where.host, port: where.port, db: options.db ?? 0, lazyConnect: true, maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      t.teardown(() => client.disconnect());
      await client.connect();
      return client;
    }),
  );
  await data[0].del(counterKey);
  let running = 0;
  let maxConcurrent = 0;
  let roundsDone = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stopped = true;
      reject(new Error(`contention did not finish within ${CONTENTION_DEADLINE_MS} ms: ${roundsDone} of ${contenders.length * iterations} rounds done`));
    }, CONTENTION_DEADLINE_MS);
  });
  const work = Promise.all(
    contenders.map(async (contender, i) => {
      for (let round = 0; round < iterations && !stopped; round++) {
        await contender.withLock(async () => {
          running++;
          maxConcurrent = Math.max(maxConcurrent, running);
          try {
            const value = Number((await data[i].get(counterKey)) ?? '0');
            await pause(2);
            await data[i].set(counterKey, String(value + 1));
          } finally {
            running--;
          }
        });
        roundsDone++;
      }
    }),
  );
  try {
    await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
  const count = Number((await data[0].get(counterKey)) ?? '0');
  return { count, expected: contenders.length * iterations, maxConcurrent };
}

/** A contender with no lock at all: the control that shows the workload detects lost updates. */
export const unlocked: Contender = { withLock: (critical) => critical() };

/**
 * Retries `attempt` (which resolves to a release function, or null when the lock is held) until it
 * gets the lock; gives up after `timeoutMs` so a broken lock fails the test instead of hanging it.
 */
export async function acquireRetrying<R>(what: string, attempt: () => Promise<R | null>, retryMs = 5, timeoutMs = 30_000): Promise<R> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await attempt();
    if (got !== null) return got;
    if (Date.now() > deadline) throw new Error(`could not acquire ${what} within ${timeoutMs} ms`);
    await pause(retryMs + Math.random() * retryMs);
  }
}

/**
 * The expiry check shared by every library: `tryOther` must fail while the first owner's short
 * TTL runs, and must succeed later without the first owner doing anything.
 */
export async function expectExpiry(tryOther: () => Promise<boolean>, ttlMs: number): Promise<{ heldAtFirst: boolean }> {
  const heldAtFirst = !(await tryOther());
  await waitFor('the unextended lock to expire and become acquirable by another owner', tryOther, ttlMs + 10_000, 20);
  return { heldAtFirst };
}

export { waitFor };

/** `promise`, or a rejection naming `what` once `timeoutMs` has passed (for libraries that wait forever). */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
