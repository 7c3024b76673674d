// Client workloads shared by the failover tests, and the checks that judge them.
//
// - WriteLoad: workers SET unique keys and remember which ones were acknowledged (and when they
//   were sent and answered), so a test can check that none is lost and measure failover time.
// - LockLoad: workers take one lock with LOCK (unique owner per attempt), enter a critical section,
//   write an in-test fenced register with the fencing token, SET a register key on the server,
//   leave, UNLOCK. The checker flags two holders inside their leases at once, and a token that is
//   not greater than every token accepted before it.
//
// A client is anything with ioredis's `call(command, ...args)`; errors (CLUSTERDOWN, UNCERTAIN,
// timeouts, connection loss) are counted and the worker moves on: only acknowledgements count.

import { setTimeout as sleep } from 'node:timers/promises';

export interface Commander {
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
}

export interface Ack {
  readonly key: string;
  readonly value: string;
  readonly sentAtMs: number;
  readonly ackAtMs: number;
}

export class WriteLoad {
  readonly acks: Ack[] = [];
  readonly errors = new Map<string, number>();
  /** Writes answered with an error (or that failed), with when they were sent and answered. */
  readonly failures: Array<{ readonly key: string; readonly sentAtMs: number; readonly failedAtMs: number; readonly message: string }> = [];
  private stopping = false;
  private running: Promise<void>[] = [];

  constructor(private readonly prefix: string) {}

  start(clients: Commander[]): void {
    this.running = clients.map((client, worker) => this.work(client, worker));
  }

  private async work(client: Commander, worker: number): Promise<void> {
    for (let i = 0; !this.stopping; i++) {
      const key = `${this.prefix}:${worker}:${i}`;
      const value = `v${i}`;
      const sentAtMs = Date.now();
      try {
        const reply = await client.call('SET', key, value);
        if (reply === 'OK') this.acks.push({ key, value, sentAtMs, ackAtMs: Date.now() });
        else noteError(this.errors, `unexpected reply ${String(reply)}`);
      } catch (error) {
        noteError(this.errors, (error as Error).message);
        this.failures.push({ key, sentAtMs, failedAtMs: Date.now(), message: (error as Error).message });
        await sleep(10);
      }
    }
  }

  /** First acknowledgement of a write sent at or after `sinceMs`. */
  firstAckSentAfter(sinceMs: number): Ack | undefined {
    return this.acks.find((a) => a.sentAtMs >= sinceMs);
  }

  acksSentAfter(sinceMs: number): number {
    return this.acks.filter((a) => a.sentAtMs >= sinceMs).length;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }
}

interface Holder {
  readonly owner: string;
  readonly token: number;
  readonly leaseEndMs: number;
}

export class LockLoad {
  readonly violations: string[] = [];
  readonly errors = new Map<string, number>();
  /** Tokens in the order their holders entered the critical section. */
  readonly tokens: number[] = [];
  /** Writes the fenced register refused (a holder whose lease ran out while it worked): fencing at work. */
  fencedWrites = 0;
  cycles = 0;
  contended = 0;
  private registerToken = 0;
  private readonly holders = new Map<number, Holder>();
  private stopping = false;
  private running: Promise<void>[] = [];

  constructor(
    private readonly key: string,
    private readonly ttlMs: number,
  ) {}

  start(clients: Commander[]): void {
    this.running = clients.map((client, worker) => this.work(client, worker));
  }

  /** The fenced resource: accepts a write only with a token at least as high as any before. */
  private writeRegister(token: number): boolean {
    if (token < this.registerToken) return false;
    this.registerToken = token;
    return true;
  }

  private enter(worker: number, holder: Holder): void {
    const now = Date.now();
    for (const [other, h] of this.holders) {
      if (other !== worker && now < h.leaseEndMs) {
        this.violations.push(`${holder.owner} (token ${holder.token}) acquired while ${h.owner} (token ${h.token}) held the lock for ${h.leaseEndMs - now} ms more`);
      }
    }
    const last = this.tokens.length > 0 ? this.tokens[this.tokens.length - 1] : 0;
    if (holder.token <= last) this.violations.push(`${holder.owner} got token ${holder.token}, not above the previous holder's ${last}`);
    if (!this.writeRegister(holder.token)) this.violations.push(`the register refused ${holder.owner}'s fresh token ${holder.token}`);
    this.tokens.push(holder.token);
    this.holders.set(worker, holder);
  }

  private async work(client: Commander, worker: number): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      const owner = `w${worker}-${attempt}`;
      const sentAtMs = Date.now();
      let token: unknown;
      try {
        token = await client.call('LOCK', this.key, owner, this.ttlMs);
      } catch (error) {
        noteError(this.errors, (error as Error).message);
        // The LOCK may have been applied: release it in case, then retry.
        await client.call('UNLOCK', this.key, owner).catch(() => undefined);
        await sleep(10);
        continue;
      }
      if (token === null) {
        this.contended++;
        await sleep(2 + Math.random() * 5);
        continue;
      }
      if (typeof token !== 'number') {
        this.violations.push(`LOCK replied ${JSON.stringify(token)}, not a token or nil`);
        continue;
      }
      // The lease runs from when we asked: the server's deadline is never earlier than that.
      const leaseEndMs = sentAtMs + this.ttlMs;
      if (Date.now() < leaseEndMs) {
        this.enter(worker, { owner, token, leaseEndMs });
        try {
          await client.call('SET', `${this.key}:register`, String(token));
        } catch (error) {
          noteError(this.errors, (error as Error).message);
        }
        if (!this.writeRegister(token)) this.fencedWrites++;
        this.holders.delete(worker); // out of the critical section before the UNLOCK is sent
        this.cycles++;
      }
      await client.call('UNLOCK', this.key, owner).catch((error: Error) => noteError(this.errors, error.message));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }
}

function noteError(errors: Map<string, number>, message: string): void {
  const kind = message.split(' ').slice(0, 3).join(' ').slice(0, 60);
  errors.set(kind, (errors.get(kind) ?? 0) + 1);
}

export function describeErrors(errors: Map<string, number>): string {
  return [...errors].map(([kind, n]) => `${n}x ${kind}`).join('; ') || 'none';
}

/** Checks that every acknowledged write is on a node: returns the missing or wrong keys. */
export function missingAcks(acks: readonly Ack[], values: ReadonlyMap<string, string | null>): string[] {
  const wrong: string[] = [];
  for (const ack of acks) {
    const value = values.get(ack.key);
    if (value !== ack.value) wrong.push(`${ack.key}=${String(value)} (acknowledged ${ack.value})`);
  }
  return wrong;
}
