// The three client workloads of a fault run. Each worker owns one client and loops until stopped,
// recording every operation in the shared History before it is sent and when it is answered.
//
// - register: SET / GET / DELIFEQ (compare-and-delete) on a few keys at a time; a key is retired
//   after `opsPerKey` operations and replaced by a fresh one, so each key's history stays small
//   enough for the linearizability search (Jepsen's "independent" keys).
// - lock: LOCK key owner ttl; while holding, write the fencing token to a fenced register in the
//   harness (it refuses tokens older than the newest it accepted) and a data key on the server,
//   then UNLOCK. Acquisitions are kept for the lock checker.
// - unique: SET of a never-reused key; every acknowledged one must exist at the end, and every
//   definitely failed one must not.

import type { FaultClient } from './clients';
import type { Acquisition } from './lock_checker';
import type { History, Op, Workload } from './history';
import type { Prng } from './prng';
import { setTimeout as sleep } from 'node:timers/promises';

export class Workers {
  private stopping = false;
  private readonly running: Promise<void>[] = [];

  get stopped(): boolean {
    return this.stopping;
  }

  add(work: () => Promise<void>): void {
    this.running.push(work());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }
}

async function run(history: History, client: FaultClient, workload: Workload, f: string, key: string, value: string | null, argv: Array<string | number>): Promise<{ op: Op; reply: unknown }> {
  const op = history.invoke({ workload, client: client.index, via: client.via, f, key, value });
  op.node = client.nodeFor(key);
  try {
    const reply = await client.call(String(argv[0]), argv.slice(1));
    return { op, reply };
  } catch (error) {
    history.completeWithError(op, error);
    return { op, reply: undefined };
  }
}

export class RegisterWorkload {
  private readonly generation: number[];
  private readonly opsOnKey: number[];

  constructor(
    private readonly history: History,
    private readonly slots: number,
    private readonly opsPerKey: number,
  ) {
    this.generation = new Array<number>(slots).fill(0);
    this.opsOnKey = new Array<number>(slots).fill(0);
  }

  private key(slot: number): string {
    if (this.opsOnKey[slot] >= this.opsPerKey) {
      this.generation[slot]++;
      this.opsOnKey[slot] = 0;
    }
    this.opsOnKey[slot]++;
    return `reg:${slot}:${this.generation[slot]}`;
  }

  start(workers: Workers, client: FaultClient, prng: Prng, pauseMs: [number, number]): void {
    workers.add(async () => {
      const seen = new Map<string, string>();
      for (let n = 0; !workers.stopped; n++) {
        const key = this.key(prng.int(0, this.slots - 1));
        const roll = prng.next();
        if (roll < 0.5) {
          const { op, reply } = await run(this.history, client, 'register', 'read', key, null, ['GET', key]);
          if (reply !== undefined) {
            if (reply === null || typeof reply === 'string') {
              this.history.complete(op, 'ok', { value: reply });
              if (reply !== null) seen.set(key, reply);
            } else this.history.complete(op, 'unknown', { error: `unexpected reply ${JSON.stringify(reply)}` });
          }
        } else if (roll < 0.85 || !seen.has(key)) {
          const value = `c${client.index}-${n}`;
          const { op, reply } = await run(this.history, client, 'register', 'write', key, value, ['SET', key, value]);
          if (reply !== undefined) this.history.complete(op, reply === 'OK' ? 'ok' : 'unknown', reply === 'OK' ? {} : { error: `unexpected reply ${JSON.stringify(reply)}` });
          seen.set(key, value);
        } else {
          const value = seen.get(key)!;
          const { op, reply } = await run(this.history, client, 'register', 'cad', key, value, ['DELIFEQ', key, value]);
          if (reply !== undefined) {
            if (reply === 0 || reply === 1) this.history.complete(op, 'ok', { result: reply });
            else this.history.complete(op, 'unknown', { error: `unexpected reply ${JSON.stringify(reply)}` });
          }
        }
        await sleep(prng.int(pauseMs[0], pauseMs[1]));
      }
    });
  }
}

/** The protected resource: accepts a write only with a token at least as new as the newest so far. */
export class FencedRegister {
  private newestToken = 0;
  accepted = 0;
  refused = 0;

  write(token: number): boolean {
    if (token < this.newestToken) {
      this.refused++;
      return false;
    }
    this.newestToken = token;
    this.accepted++;
    return true;
  }
}

export class LockWorkload {
  readonly acquisitions: Acquisition[] = [];
  readonly registers = new Map<string, FencedRegister>();
  /** Replies that are not a token or nil: a protocol bug. */
  readonly oddities: string[] = [];

  constructor(
    private readonly history: History,
    private readonly keys: readonly string[],
    private readonly ttlMs: number,
  ) {
    for (const key of keys) this.registers.set(key, new FencedRegister());
  }

  start(workers: Workers, client: FaultClient, prng: Prng, pauseMs: [number, number]): void {
    workers.add(async () => {
      for (let n = 0; !workers.stopped; n++) {
        const key = prng.pick(this.keys);
        const owner = `c${client.index}-${n}`;
        const { op, reply } = await run(this.history, client, 'lock', 'lock', key, owner, ['LOCK', key, owner, this.ttlMs]);
        if (reply === undefined) {
          // The LOCK may have been applied: release it in case.
          await this.unlock(client, key, owner);
        } else if (reply === null) {
          this.history.complete(op, 'ok', { result: null });
        } else if (typeof reply === 'number') {
          this.history.complete(op, 'ok', { result: reply });
          const acquisition: Acquisition = { key, owner, token: reply, sendMs: op.invokeMs, ackMs: op.completeMs, releaseMs: Infinity, ttlMs: this.ttlMs };
          this.acquisitions.push(acquisition);
          const register = this.registers.get(key)!;
          register.write(reply);
          const data = `${key}:data`;
          const { op: setOp, reply: setReply } = await run(this.history, client, 'lock', 'set', data, `${owner}@${reply}`, ['SET', data, `${owner}@${reply}`]);
          if (setReply !== undefined) this.history.complete(setOp, setReply === 'OK' ? 'ok' : 'unknown');
          register.write(reply);
          acquisition.releaseMs = this.history.now();
          await this.unlock(client, key, owner);
        } else {
          this.history.complete(op, 'unknown', { error: `unexpected reply ${JSON.stringify(reply)}` });
          this.oddities.push(`LOCK ${key} ${owner} replied ${JSON.stringify(reply)}`);
        }
        await sleep(prng.int(pauseMs[0], pauseMs[1]));
      }
    });
  }

  private async unlock(client: FaultClient, key: string, owner: string): Promise<void> {
    const { op, reply } = await run(this.history, client, 'lock', 'unlock', key, owner, ['UNLOCK', key, owner]);
    if (reply !== undefined) this.history.complete(op, typeof reply === 'number' ? 'ok' : 'unknown', { result: typeof reply === 'number' ? reply : null });
  }
}

export class UniqueWorkload {
  constructor(private readonly history: History) {}

  start(workers: Workers, client: FaultClient, prng: Prng, pauseMs: [number, number]): void {
    workers.add(async () => {
      for (let n = 0; !workers.stopped; n++) {
        const key = `u:${client.index}:${n}`;
        const value = `v${n}`;
        const { op, reply } = await run(this.history, client, 'unique', 'set', key, value, ['SET', key, value]);
        if (reply !== undefined) this.history.complete(op, reply === 'OK' ? 'ok' : 'unknown', reply === 'OK' ? {} : { error: `unexpected reply ${JSON.stringify(reply)}` });
        await sleep(prng.int(pauseMs[0], pauseMs[1]));
      }
    });
  }
}
