// The nemesis: injects one fault at a time into a real 5-node cluster, drawn from a seeded PRNG,
// holds it for a while, heals it, rests, and draws the next. One fault at a time keeps the rule
// "never more than a minority down" simple: each fault takes out at most two of five nodes (one of
// four while a node is out of the membership), and partitions always leave a majority side.
//
// Kinds: kill (-9, then restart on the same data dir), pause (SIGSTOP, SIGCONT), partition (a
// majority and a minority side), bridge (two sides that both see one middle node), one-way (a
// node that cannot send, or cannot hear), link-delay, link-drop, clock (restart one node with
// --test-clock-offset-ms), membership (RAFT.REMOVENODE, wipe the data dir, restart with --join,
// RAFT.ADDNODE), transfer (RAFT.TRANSFER). The leader is the target half the time.
//
// Every fault is recorded as an interval in the history; steps that fail (a node that does not
// come back, a membership change that does not finish) are recorded as nemesis errors and
// reported, since they are liveness findings.

import * as fs from 'node:fs';
import { command, RespError, type Cluster } from '../helpers/cluster';
import type { ProxyMode } from '../helpers/tcp_proxy';
import { waitFor } from '../helpers/servers';
import { HelloRouter } from './hello_router';
import type { History } from './history';
import type { Prng } from './prng';
import { setTimeout as sleep } from 'node:timers/promises';

export const faultKinds = ['kill', 'pause', 'partition', 'bridge', 'one-way', 'link-delay', 'link-drop', 'clock', 'membership', 'transfer'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface NemesisOptions {
  /** How long a fault is held, ms. */
  holdMs: [number, number];
  /** Rest between two faults, ms. */
  restMs: [number, number];
  /** Largest clock offset, ms. */
  clockOffsetMsMax: number;
  /** Also draw clock offsets below zero (default; FAULTS_NEGATIVE_CLOCK=0 turns it off). */
  negativeClockOffsets?: boolean;
  kinds?: readonly FaultKind[];
}

export class Nemesis {
  readonly errors: string[] = [];
  readonly counts = new Map<string, number>();
  /** Clock offsets applied: which node, how much, when. */
  readonly skews: Array<{ node: string; offsetMs: number; startMs: number; endMs: number }> = [];
  private readonly paused = new Set<string>();
  private readonly routers = new Map<string, HelloRouter>();
  private stopping = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly history: History,
    private readonly prng: Prng,
    private readonly options: NemesisOptions,
    private readonly log: (line: string) => void,
  ) {}

  private ids(): string[] {
    return [...this.cluster.nodes.keys()];
  }

  stop(): void {
    this.stopping = true;
  }

  /** Draws and injects faults until stopped or `untilMs` (history time) passes. */
  async run(untilMs: number): Promise<void> {
    const kinds = this.options.kinds ?? faultKinds;
    while (!this.stopping && this.history.now() < untilMs) {
      await sleep(this.prng.int(...this.options.restMs));
      if (this.stopping || this.history.now() >= untilMs) break;
      const kind = this.prng.pick(kinds);
      const holdMs = Math.min(this.prng.int(...this.options.holdMs), Math.max(500, untilMs - this.history.now()));
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
      try {
        await this.inject(kind, holdMs);
      } catch (error) {
        const message = `${kind} at ${this.history.now()} ms: ${(error as Error).message}`;
        this.errors.push(message);
        this.log(`nemesis error: ${message}`);
        await this.healAll().catch((e: Error) => this.errors.push(`heal after ${kind}: ${e.message}`));
      }
    }
  }

  private async leaderId(): Promise<string | null> {
    try {
      return (await this.cluster.leader(this.cluster.aliveIds().filter((id) => !this.paused.has(id)), 3000)).id;
    } catch {
      return null;
    }
  }

  /** The leader half the time (when there is one), any node otherwise. */
  private async target(): Promise<string> {
    const leader = await this.leaderId();
    if (leader && this.prng.chance(0.5)) return leader;
    return this.prng.pick(this.ids());
  }

  private async interval(kind: string, detail: string, holdMs: number, inject: () => Promise<void>, heal: () => Promise<void>): Promise<void> {
    const fault = this.history.fault(kind, detail);
    this.log(`nemesis: ${kind} ${detail} for ${holdMs} ms`);
    try {
      await inject();
      await sleep(holdMs);
    } finally {
      await heal();
      this.history.endFault(fault);
    }
  }

  private async inject(kind: FaultKind, holdMs: number): Promise<void> {
    const ids = this.ids();
    const mode = (): ProxyMode => (this.prng.chance(0.5) ? 'drop' : 'stall');
    switch (kind) {
      case 'kill': {
        const id = await this.target();
        await this.interval(kind, id, holdMs, async () => void (await this.cluster.kill(id)), async () => void (await this.cluster.restart(id)));
        return;
      }
      case 'pause': {
        const id = await this.target();
        await this.interval(kind, id, holdMs, async () => this.pause(id), async () => this.resume(id));
        return;
      }
      case 'partition': {
        const leader = await this.leaderId();
        const shuffled = this.prng.sample(ids, ids.length);
        const minority = shuffled.slice(0, this.prng.int(1, 2));
        if (leader && this.prng.chance(0.5) && !minority.includes(leader)) minority[0] = leader;
        const majority = ids.filter((id) => !minority.includes(id));
        const m = mode();
        await this.interval(kind, `${minority.join(',')} | ${majority.join(',')} (${m})`, holdMs, () => this.split(minority, majority, m), () => this.cluster.heal());
        return;
      }
      case 'bridge': {
        const shuffled = this.prng.sample(ids, ids.length);
        const [left, middle, right] = [shuffled.slice(0, 2), shuffled[2], shuffled.slice(3)];
        const m = mode();
        await this.interval(kind, `${left.join(',')} | ${middle} | ${right.join(',')} (${m})`, holdMs, () => this.split(left, right, m), () => this.cluster.heal());
        return;
      }
      case 'one-way': {
        const id = await this.target();
        const others = ids.filter((other) => other !== id);
        const mute = this.prng.chance(0.5);
        const m = mode();
        await this.interval(
          kind,
          `${id} ${mute ? 'cannot send' : 'cannot hear'} (${m})`,
          holdMs,
          async () => void (await Promise.all(others.map((other) => (mute ? this.cluster.cut(id, other, m) : this.cluster.cut(other, id, m))))),
          () => this.cluster.heal(),
        );
        return;
      }
      case 'link-delay': {
        const links = this.randomLinks(this.prng.int(4, 12));
        const delayMs = this.prng.int(10, 150);
        await this.interval(
          kind,
          `${links.length} links +${delayMs} ms`,
          holdMs,
          async () => void (await Promise.all(links.map(([from, to]) => this.cluster.link(from, to).setMode('pass', delayMs)))),
          () => this.cluster.heal(),
        );
        return;
      }
      case 'link-drop': {
        const links = this.randomLinks(this.prng.int(2, 6));
        const m = mode();
        await this.interval(
          kind,
          `${links.map(([a, b]) => `${a}->${b}`).join(' ')} (${m})`,
          holdMs,
          async () => void (await Promise.all(links.map(([from, to]) => this.cluster.cut(from, to, m)))),
          () => this.cluster.heal(),
        );
        return;
      }
      case 'clock': {
        const id = this.prng.pick(ids);
        // Negative offsets need a `serve` that parses negative numbers (fixed in 717fd65).
        const sign = this.options.negativeClockOffsets && this.prng.chance(0.5) ? -1 : 1;
        const offsetMs = sign * this.prng.int(500, this.options.clockOffsetMsMax);
        const lead = this.prng.chance(0.5);
        const skew = { node: id, offsetMs, startMs: this.history.now(), endMs: Infinity };
        this.skews.push(skew);
        await this.interval(
          kind,
          `${id} ${offsetMs > 0 ? '+' : ''}${offsetMs} ms${lead ? ', made leader' : ''}`,
          holdMs,
          async () => {
            await this.restartWithOffset(id, offsetMs);
            if (lead) await this.transferTo(id).catch((e: Error) => this.log(`nemesis: transfer to skewed ${id}: ${e.message}`));
          },
          async () => {
            await this.restartWithOffset(id, 0);
            skew.endMs = this.history.now();
          },
        );
        return;
      }
      case 'membership': {
        const id = await this.target();
        await this.interval(kind, `remove and re-add ${id} (fresh data dir)`, Math.min(holdMs, 2000), () => this.remove(id), () => this.readd(id));
        return;
      }
      case 'transfer': {
        const leader = await this.leaderId();
        const to = this.prng.pick(ids.filter((id) => id !== leader));
        await this.interval(kind, `${leader ?? '?'} -> ${to}`, Math.min(holdMs, 1000), () => this.transferTo(to), async () => undefined);
        return;
      }
    }
  }

  private randomLinks(count: number): Array<[string, string]> {
    const ids = this.ids();
    const all: Array<[string, string]> = [];
    for (const from of ids) for (const to of ids) if (from !== to) all.push([from, to]);
    return this.prng.sample(all, count);
  }

  private async split(a: readonly string[], b: readonly string[], mode: ProxyMode): Promise<void> {
    const cuts: Promise<void>[] = [];
    for (const x of a) for (const y of b) cuts.push(this.cluster.cut(x, y, mode), this.cluster.cut(y, x, mode));
    await Promise.all(cuts);
  }

  private pause(id: string): void {
    const child = this.cluster.node(id).child;
    if (child && this.cluster.isAlive(id)) {
      child.kill('SIGSTOP');
      this.paused.add(id);
    }
  }

  private resume(id: string): void {
    const child = this.cluster.node(id).child;
    if (child && this.paused.delete(id)) child.kill('SIGCONT');
  }

  private async admin(argv: string[], via?: string): Promise<string> {
    const candidates = via ? [via] : this.cluster.aliveIds().filter((id) => !this.paused.has(id));
    let last = '';
    for (const id of candidates) {
      try {
        const reply = await command(this.cluster.node(id).port, argv, 5000);
        if (reply instanceof RespError) {
          last = `${argv.join(' ')} via ${id}: ${reply.message}`;
          continue;
        }
        return String(reply);
      } catch (error) {
        last = `${argv.join(' ')} via ${id}: ${(error as Error).message}`;
      }
    }
    throw new Error(last || `${argv.join(' ')}: no node to send it to`);
  }

  private async transferTo(id: string): Promise<void> {
    await waitFor(`RAFT.TRANSFER ${id} accepted`, async () => /^OK/.test(await this.admin(['RAFT.TRANSFER', id])), 10_000, 200);
  }

  /** Restarts a node with a clock offset (0: none), same data dir. */
  private async restartWithOffset(id: string, offsetMs: number): Promise<void> {
    const node = this.cluster.node(id);
    const at = node.args.indexOf('--test-clock-offset-ms');
    if (at >= 0) node.args.splice(at, 2);
    if (offsetMs !== 0) node.args.push('--test-clock-offset-ms', String(offsetMs));
    this.resume(id);
    await this.cluster.kill(id);
    await this.cluster.restart(id);
  }

  /** The voters as the first live node that answers reports them. */
  private async voters(): Promise<string[]> {
    for (const id of this.cluster.aliveIds()) {
      try {
        return (await this.cluster.info(id)).raft_voters.split(',').filter((v) => v !== '');
      } catch {
        // try the next node
      }
    }
    throw new Error('no node answers INFO raft');
  }

  private async remove(id: string): Promise<void> {
    const others = this.ids().filter((other) => other !== id);
    await waitFor(`RAFT.REMOVENODE ${id} accepted`, async () => /^OK/.test(await this.admin(['RAFT.REMOVENODE', id])), 15_000, 200);
    await this.cluster.waitVoters(others, others, 20_000);
    await this.cluster.kill(id);
    fs.rmSync(this.cluster.node(id).dataDir, { recursive: true, force: true });
  }

  private async router(id: string): Promise<HelloRouter> {
    let router = this.routers.get(id);
    if (!router) {
      router = await HelloRouter.start((from) => (this.cluster.proxies.has(`${from}->${id}`) ? this.cluster.link(from, id).port : null));
      this.routers.set(id, router);
    }
    return router;
  }

  /** Starts a removed node on a fresh data dir with --join and adds it back (through its router). */
  private async readd(id: string): Promise<void> {
    const node = this.cluster.node(id);
    if (!node.args.includes('--join')) node.args.push('--join');
    if (this.cluster.isAlive(id)) await this.cluster.kill(id);
    fs.rmSync(node.dataDir, { recursive: true, force: true });
    await this.cluster.restart(id);
    const router = await this.router(id);
    const others = this.ids().filter((other) => other !== id);
    await waitFor(
      `RAFT.ADDNODE ${id} accepted`,
      async () => /^OK/.test(await this.admin(['RAFT.ADDNODE', id, `127.0.0.1:${router.port}`], this.prng.pick(others))),
      20_000,
      250,
    );
    await this.cluster.waitVoters(this.ids(), this.ids(), 30_000);
  }

  /**
   * Undoes everything: resumes paused nodes, lets every link pass, restarts dead nodes, takes clock
   * offsets away, re-adds a node left out of the membership; then waits for all five voters.
   */
  async healAll(): Promise<void> {
    for (const id of [...this.paused]) this.resume(id);
    await this.cluster.heal();
    for (const id of this.ids()) {
      const node = this.cluster.node(id);
      if (node.args.includes('--test-clock-offset-ms')) {
        await this.restartWithOffset(id, 0);
        for (const skew of this.skews) if (skew.node === id && skew.endMs === Infinity) skew.endMs = this.history.now();
      } else if (!this.cluster.isAlive(id)) {
        await this.cluster.restart(id);
      }
    }
    const voters = await waitFor('a node to report the voters', () => this.voters(), 20_000, 200);
    const missing = this.ids().filter((id) => !voters.includes(id));
    for (const id of missing) await this.readd(id);
    await this.cluster.waitVoters(this.ids(), this.ids(), 30_000);
  }

  async close(): Promise<void> {
    for (const id of [...this.paused]) this.resume(id);
    await Promise.all([...this.routers.values()].map((r) => r.close()));
  }
}
