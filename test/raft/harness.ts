// A synchronous in-memory cluster for the paper tests (like etcd's `network` in raft_test.go):
// each node has a fake disk that Ready batches are persisted to, messages are queued and
// delivered by stabilize() until nothing moves, and a filter can drop or hold messages.
// No timers, no sockets: every test is a deterministic sequence of calls.

import { RaftNode, type RaftConfig } from '../../src/raft/raft_node';
import { EntryType, type ConfState, type Entry, type HardState, type Message, type ReadState, type Snapshot } from '../../src/raft/types';
import { Prng } from '../sim/prng';

export interface Disk {
  hardState: HardState;
  entries: Entry[];
  snapshot: Snapshot | null;
  conf: ConfState;
}

export interface TestNode {
  node: RaftNode;
  disk: Disk;
  /** Data of applied normal entries with non-empty data, as strings. */
  applied: string[];
  appliedIndex: number;
  readStates: ReadState[];
  stateMachine: Uint8Array | null;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export function testConfig(id: string, overrides: Partial<RaftConfig> = {}, seed = 1): RaftConfig {
  const prng = new Prng(seed * 7919 + id.charCodeAt(id.length - 1));
  return {
    id,
    electionTicks: 10,
    heartbeatTicks: 1,
    random: () => prng.float(),
    preVote: true,
    checkQuorum: true,
    readOnly: 'safe',
    maxInflightMsgs: 256,
    maxEntriesBytesPerMsg: 1 << 20,
    maxUncommittedBytes: 1 << 30,
    snapshotChunkBytes: 1 << 20,
    ...overrides,
  };
}

export class Cluster {
  readonly nodes = new Map<string, TestNode>();
  queue: Message[] = [];
  /** Return false to drop a message. */
  filter: (m: Message) => boolean = () => true;
  readonly sent: Message[] = [];

  constructor(ids: string[], overrides: Partial<RaftConfig> = {}, conf?: ConfState) {
    const initialConf = conf ?? { voters: ids, learners: [], votersOutgoing: [] };
    for (const id of ids) this.add(id, overrides, initialConf);
  }

  add(id: string, overrides: Partial<RaftConfig> = {}, conf: ConfState = { voters: [], learners: [], votersOutgoing: [] }): TestNode {
    const disk: Disk = { hardState: { term: 0, vote: '', commit: 0 }, entries: [], snapshot: null, conf };
    const node = new RaftNode(testConfig(id, overrides), { hardState: disk.hardState, snapshotMeta: null, entries: [], conf });
    const tn: TestNode = { node, disk, applied: [], appliedIndex: 0, readStates: [], stateMachine: null };
    this.nodes.set(id, tn);
    this.drain(id);
    return tn;
  }

  get(id: string): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: string): RaftNode {
    return this.get(id).node;
  }

  /** Rebuilds a node from its disk, as a restart after a crash would. */
  restart(id: string, overrides: Partial<RaftConfig> = {}): void {
    const tn = this.get(id);
    const { disk } = tn;
    tn.node = new RaftNode(testConfig(id, overrides, 2), {
      hardState: disk.hardState,
      snapshotMeta: disk.snapshot ? disk.snapshot.meta : null,
      snapshotData: disk.snapshot ? disk.snapshot.data : undefined,
      entries: disk.entries,
      conf: disk.snapshot ? disk.snapshot.meta.conf : disk.conf,
      applied: disk.snapshot ? disk.snapshot.meta.index : 0,
    });
    tn.appliedIndex = disk.snapshot ? disk.snapshot.meta.index : 0;
    tn.applied = disk.snapshot ? (JSON.parse(dec(disk.snapshot.data)) as string[]) : [];
    this.drain(id);
  }

  /** Handles every pending Ready of one node: persist, queue messages, apply, advance. */
  drain(id: string): void {
    const tn = this.get(id);
    while (tn.node.hasReady()) {
      const rd = tn.node.ready();
      if (rd.snapshot) {
        tn.disk.snapshot = rd.snapshot;
        tn.disk.entries = [];
      }
      if (rd.entries.length > 0) {
        const first = rd.entries[0].index;
        tn.disk.entries = tn.disk.entries.filter((e) => e.index < first).concat(rd.entries);
      }
      if (rd.hardState) tn.disk.hardState = rd.hardState;
      for (const m of rd.messages) {
        this.sent.push(m);
        this.queue.push(m);
      }
      if (rd.snapshot) {
        tn.applied = JSON.parse(dec(rd.snapshot.data)) as string[];
        tn.appliedIndex = rd.snapshot.meta.index;
      }
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.Normal && e.data.length > 0) tn.applied.push(dec(e.data));
        tn.appliedIndex = e.index;
      }
      tn.readStates.push(...rd.readStates);
      tn.node.advance();
    }
  }

  drainAll(): void {
    for (const id of this.nodes.keys()) this.drain(id);
  }

  /** Delivers queued messages (and whatever they cause) until the cluster is quiet. */
  stabilize(maxRounds = 10_000): void {
    this.drainAll();
    for (let round = 0; round < maxRounds; round++) {
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        const to = this.nodes.get(m.to);
        if (!to || !this.filter(m)) continue;
        to.node.step(m);
      }
      this.drainAll();
    }
    throw new Error('cluster did not stabilize');
  }

  tick(id: string, n = 1): void {
    for (let i = 0; i < n; i++) this.raft(id).tick();
    this.drain(id);
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const tn of this.nodes.values()) tn.node.tick();
    this.drainAll();
  }

  /** Isolates a node: every message to or from it is dropped. */
  isolate(id: string): void {
    const previous = this.filter;
    this.filter = (m) => m.from !== id && m.to !== id && previous(m);
  }

  heal(): void {
    this.filter = () => true;
  }

  /** The leader of the highest term (a cut-off old leader may still believe it leads). */
  leader(): string | undefined {
    let best: string | undefined;
    let bestTerm = -1;
    for (const [id, tn] of this.nodes) {
      if (tn.node.currentRole() === 'leader' && tn.node.currentTerm() > bestTerm) {
        best = id;
        bestTerm = tn.node.currentTerm();
      }
    }
    return best;
  }

  /** Takes and returns every queued message without delivering it. */
  take(): Message[] {
    this.drainAll();
    const out = this.queue;
    this.queue = [];
    return out;
  }
}
