// A real replicated cluster for end-to-end tests: N `quorumlock serve` processes on loopback,
// each with free ports and its own temp data dir, optionally with a fault-injecting TCP proxy on
// every directed Raft link (node A reaches node B through proxy A->B), so a test can cut links
// one way, both ways, or around one node. Nodes can be killed (-9 or TERM), restarted on the same
// data dir and ports, and added with --join. One teardown kills every process and proxy and
// removes the data dirs; when the test failed it prints the tail of each node's log.

import { setTimeout as delay } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import RedisParser from 'redis-parser';
import { spawnQuorumlock, tempDir, waitFor } from './servers';
import { TcpProxy, type ProxyMode } from './tcp_proxy';

interface TestLike {
  teardown(fn: () => unknown): void;
  passing(): boolean;
  comment(...args: unknown[]): void;
}

// ---- a minimal RESP2 connection, for admin and checks that must not retry or reconnect ----

export class RespError extends Error {}

/** One socket, commands answered in order. Every call has a deadline; a dead socket rejects. */
export class RawConnection {
  private readonly pending: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  private readonly parser: RedisParser;
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    this.parser = new RedisParser({
      returnReply: (reply) => this.settle((p) => p.resolve(reply)),
      returnError: (error) => this.settle((p) => p.resolve(new RespError(error.message))),
    });
    socket.on('data', (chunk) => this.parser.execute(chunk));
    const fail = (error: Error): void => {
      this.failure ??= error;
      for (const p of this.pending.splice(0)) {
        clearTimeout(p.timer);
        p.reject(this.failure);
      }
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static connect(port: number, timeoutMs = 1000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${port} timed out`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawConnection(socket));
      });
    });
  }

  private settle(action: (p: (typeof this.pending)[number]) => void): void {
    const p = this.pending.shift();
    if (!p) return;
    clearTimeout(p.timer);
    action(p);
  }

  /** The reply (a RespError value for an error reply); rejects on timeout or a dead socket. */
  call(argv: Array<string | number>, timeoutMs = 2000): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A late reply would be matched with the wrong call: the connection is unusable now.
        this.failure ??= new Error(`no reply within ${timeoutMs} ms to ${String(argv[0])}`);
        reject(this.failure);
        this.socket.destroy();
      }, timeoutMs);
      this.pending.push({ resolve, reject, timer });
      let payload = `*${argv.length}\r\n`;
      for (const arg of argv) payload += `$${Buffer.byteLength(String(arg))}\r\n${String(arg)}\r\n`;
      this.socket.write(payload);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One command on a fresh connection. */
export async function command(port: number, argv: Array<string | number>, timeoutMs = 2000): Promise<unknown> {
  const conn = await RawConnection.connect(port, timeoutMs);
  try {
    return await conn.call(argv, timeoutMs);
  } finally {
    conn.close();
  }
}

/** `INFO raft` as a field map. */
export async function raftInfo(port: number, timeoutMs = 1000): Promise<Record<string, string>> {
  return infoSection(port, 'raft', timeoutMs);
}

/** The fields of one INFO section (`raft`, `persistence`, ...) of the node on `port`. */
export async function infoSection(port: number, section: string, timeoutMs = 1000): Promise<Record<string, string>> {
  const reply = await command(port, ['INFO', section], timeoutMs);
  if (typeof reply !== 'string') throw new Error(`INFO ${section} on ${port}: ${String(reply)}`);
  const fields: Record<string, string> = {};
  for (const line of reply.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

// ---- ports ----

const handedOut = new Set<number>();
/** Ports claimed by any process on this machine that uses this helper (tap runs test files in parallel). */
const claimsDir = path.join(os.tmpdir(), 'quorumlock-test-ports');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims a port against other processes: a file named after it, holding the claimant's pid, made
 * with O_EXCL; a claim whose process is gone is taken over. Two test files running at once each
 * probed the same port as free before either node listened on it (EADDRINUSE, a flaky failure).
 */
function claim(port: number): boolean {
  fs.mkdirSync(claimsDir, { recursive: true });
  const file = path.join(claimsDir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      if (handedOut.size === 0) process.once('exit', releaseClaims);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(fs.readFileSync(file, 'utf8') || '0');
      if (owner === process.pid || (owner > 0 && isAlive(owner))) return false;
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

function releaseClaims(): void {
  for (const port of handedOut) fs.rmSync(path.join(claimsDir, String(port)), { force: true });
}

/**
 * A port that was free a moment ago, from below Linux's ephemeral range (32768+): the many
 * outbound connections of a cluster (nodes, proxies, clients) take their local ports from that
 * range and could take a node's port between this check and the node's listen (EADDRINUSE).
 * Claimed for this process (see claim()), so a test running beside it never gets it too.
 */
export async function clusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free && claim(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port found in 20000-31999');
}

// ---- the cluster ----

export interface ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly raftPort: number;
  readonly dataDir: string;
  /** The arguments after `serve`, reused on restart. */
  readonly args: string[];
  child: ChildProcess | null;
  exited: Promise<number | string>;
  /** Set when the helper itself stops the process; any other exit is noted in the log. */
  stopping: boolean;
  /** Everything the node printed, across restarts (the last 256 KiB). */
  log: string;
}

export interface ClusterOptions {
  nodes?: number;
  /** A proxy on every directed Raft link, so links can be cut. */
  proxies?: boolean;
  tickMs?: number;
  electionTicks?: number;
  /** Extra `serve` flags for a node, by id. */
  nodeArgs?: (id: string) => string[];
  /** Flags for node itself (e.g. `--cpu-prof` when profiling a benchmark). */
  execArgv?: string[];
  /** The launcher to run (default: this checkout's bin/quorumlock); bench/ab.ts runs another build's. */
  bin?: string;
}

const LOG_BYTES_MAX = 256 * 1024;

export class Cluster {
  readonly nodes = new Map<string, ClusterNode>();
  /** `from->to` -> the proxy node `from` dials to reach `to`. */
  readonly proxies = new Map<string, TcpProxy>();
  readonly clusterId = `e2e-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  private readonly root = tempDir('quorumlock-cluster-');
  private tornDown = false;

  private constructor(
    private readonly t: TestLike,
    private readonly options: Required<Omit<ClusterOptions, 'nodeArgs' | 'execArgv' | 'bin'>> & Pick<ClusterOptions, 'nodeArgs' | 'execArgv' | 'bin'>,
  ) {}

  /** Starts the founding members and waits until they have elected a leader. */
  static async start(t: TestLike, options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = new Cluster(t, { nodes: 3, proxies: false, tickMs: 20, electionTicks: 10, ...options });
    t.teardown(() => cluster.teardown());
    const ids = Array.from({ length: cluster.options.nodes }, (_, i) => `n${i + 1}`);
    const ports = new Map<string, { port: number; raftPort: number }>();
    for (const id of ids) ports.set(id, { port: await clusterPort(), raftPort: await clusterPort() });
    if (cluster.options.proxies) {
      for (const from of ids) {
        for (const to of ids) {
          if (from !== to) cluster.proxies.set(`${from}->${to}`, await TcpProxy.start(ports.get(to)!.raftPort, `${from}->${to}`, await clusterPort()));
        }
      }
    }
    for (const id of ids) {
      const peers = ids
        .map((other) => `${other}=127.0.0.1:${other === id || !cluster.options.proxies ? ports.get(other)!.raftPort : cluster.proxies.get(`${id}->${other}`)!.port}`)
        .join(',');
      cluster.define(id, ports.get(id)!.port, ports.get(id)!.raftPort, peers, []);
    }
    await Promise.all(ids.map((id) => cluster.launch(id)));
    // Settled: every founder follows the same leader, so a test's first cut hits a stable leader.
    await cluster.leader(ids, 15_000, true);
    return cluster;
  }

  private define(id: string, port: number, raftPort: number, peers: string, extra: string[]): ClusterNode {
    const dataDir = path.join(this.root, id);
    const args = [
      'serve', '--node-id', id, '--port', String(port), '--raft-port', String(raftPort), '--peers', peers,
      '--data-dir', dataDir, '--tick-ms', String(this.options.tickMs), '--election-ticks', String(this.options.electionTicks),
      '--cluster-id', this.clusterId, ...extra, ...(this.options.nodeArgs?.(id) ?? []),
    ];
    const node: ClusterNode = { id, port, raftPort, dataDir, args, child: null, exited: Promise.resolve('not started'), stopping: false, log: '' };
    this.nodes.set(id, node);
    return node;
  }

  /** Spawns the node's process and waits until it answers PING. */
  private async launch(id: string): Promise<void> {
    const node = this.node(id);
    if (this.tornDown) throw new Error('cluster is torn down');
    const child = spawnQuorumlock(node.args, { nodeFlags: this.options.execArgv, stdio: ['ignore', 'pipe', 'pipe'], bin: this.options.bin });
    node.child = child;
    node.stopping = false;
    const append = (d: Buffer): void => {
      node.log += d.toString();
      if (node.log.length > LOG_BYTES_MAX) node.log = node.log.slice(-LOG_BYTES_MAX / 2);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    node.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (!node.stopping) node.log += `[cluster helper] ${id} (pid ${child.pid}) exited unexpectedly: code ${code}, signal ${signal}\n`;
        resolve(code ?? signal ?? -1);
      }),
    );
    await waitFor(
      `${id} to answer PING on ${node.port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${id} exited with ${child.exitCode}: ${node.log.slice(-2000)}`);
        return (await command(node.port, ['PING'], 500)) === 'PONG';
      },
      20_000,
      50,
    );
  }

  node(id: string): ClusterNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  isAlive(id: string): boolean {
    const child = this.node(id).child;
    return child !== null && child.exitCode === null && child.signalCode === null;
  }

  aliveIds(): string[] {
    return [...this.nodes.keys()].filter((id) => this.isAlive(id));
  }

  /**
   * Waits until a leader is agreed on: a node among `among` (default: every live node) that says
   * it leads, and a majority of `among` (or all of them, with `all`) name it as leader in the
   * same term.
   */
  async leader(among: string[] = this.aliveIds(), timeoutMs = 10_000, all = false): Promise<ClusterNode> {
    const needed = all ? among.length : Math.floor(among.length / 2) + 1;
    const id = await waitFor(
      `a leader agreed by ${all ? 'all' : 'a majority'} of ${among.join(',')}`,
      async () => {
        const infos = await Promise.all(among.map((id) => raftInfo(this.node(id).port, 500).catch(() => null)));
        for (let i = 0; i < among.length; i++) {
          const info = infos[i];
          if (info?.raft_role !== 'leader') continue;
          const agree = infos.filter((other) => other?.raft_leader_id === among[i] && other.raft_term === info.raft_term).length;
          if (agree >= needed) return among[i];
        }
        return '';
      },
      timeoutMs,
      25,
    );
    return this.node(id);
  }

  async info(id: string): Promise<Record<string, string>> {
    return raftInfo(this.node(id).port);
  }

  /** Sends a signal and waits for the process to exit; returns its exit code or signal. */
  async signal(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | string> {
    const node = this.node(id);
    if (!this.isAlive(id)) return node.exited;
    node.stopping = true;
    node.child!.kill(signal);
    return node.exited;
  }

  kill(id: string): Promise<number | string> {
    return this.signal(id, 'SIGKILL');
  }

  /** Starts a stopped node again, same ports, same data dir, same flags. */
  async restart(id: string): Promise<ClusterNode> {
    if (this.isAlive(id)) throw new Error(`${id} is still running`);
    await this.launch(id);
    return this.node(id);
  }

  /**
   * Starts a new node with --join (its --peers: the live members' Raft addresses and its own) and
   * admits it with RAFT.ADDNODE through `via`. Returns once the node serves; promotion to voter
   * happens later (wait for it with `waitVoters`).
   */
  async join(id: string, via: string): Promise<ClusterNode> {
    const port = await clusterPort();
    const raftPort = await clusterPort();
    const members = [...this.nodes.values()].filter((n) => this.isAlive(n.id));
    const peers = [...members.map((n) => `${n.id}=127.0.0.1:${n.raftPort}`), `${id}=127.0.0.1:${raftPort}`].join(',');
    this.define(id, port, raftPort, peers, ['--join']);
    await this.launch(id);
    const reply = await command(this.node(via).port, ['RAFT.ADDNODE', id, `127.0.0.1:${raftPort}`], 5000);
    if (reply instanceof Error) throw new Error(`RAFT.ADDNODE ${id} via ${via}: ${reply.message}`);
    return this.node(id);
  }

  /** Waits until every node in `on` reports exactly these voters. */
  async waitVoters(voters: string[], on: string[], timeoutMs = 15_000): Promise<void> {
    const want = [...voters].sort().join(',');
    await waitFor(
      `voters ${want} on ${on.join(',')}`,
      async () => {
        const infos = await Promise.all(on.map((id) => raftInfo(this.node(id).port, 500)));
        return infos.every((info) => info.raft_voters.split(',').sort().join(',') === want);
      },
      timeoutMs,
      50,
    );
  }

  // ---- faults on the Raft links (needs `proxies: true`) ----

  link(from: string, to: string): TcpProxy {
    const proxy = this.proxies.get(`${from}->${to}`);
    if (!proxy) throw new Error(`no proxy ${from}->${to} (start the cluster with proxies: true)`);
    return proxy;
  }

  /** Cuts the one-way link from -> to. */
  async cut(from: string, to: string, mode: ProxyMode = 'drop'): Promise<void> {
    await this.link(from, to).setMode(mode);
  }

  /** Cuts every link between `id` and the other nodes, both ways. */
  async isolate(id: string, mode: ProxyMode = 'drop'): Promise<void> {
    const cuts: Promise<void>[] = [];
    for (const other of this.nodes.keys()) {
      if (other === id || !this.proxies.has(`${id}->${other}`)) continue;
      cuts.push(this.cut(id, other, mode), this.cut(other, id, mode));
    }
    await Promise.all(cuts);
  }

  /** Lets every link pass again. */
  async heal(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((proxy) => proxy.setMode('pass')));
  }

  /**
   * Waits until every node in `on` has applied the same index and agrees on the leader, then
   * returns that index. Call it once writes have stopped.
   */
  async converged(on: string[] = this.aliveIds(), timeoutMs = 15_000): Promise<number> {
    let applied = 0;
    await waitFor(
      `nodes ${on.join(',')} to agree on the leader and the applied index`,
      async () => {
        const infos = await Promise.all(on.map((id) => raftInfo(this.node(id).port, 500)));
        const leaders = new Set(infos.map((i) => i.raft_leader_id));
        const indexes = new Set(infos.map((i) => i.raft_applied_index));
        const commits = new Set(infos.map((i) => i.raft_commit_index));
        if (leaders.size !== 1 || leaders.has('') || indexes.size !== 1 || commits.size !== 1) return false;
        applied = Number(infos[0].raft_applied_index);
        return infos[0].raft_applied_index === infos[0].raft_commit_index;
      },
      timeoutMs,
      50,
    );
    return applied;
  }

  /**
   * Every key matching `pattern` with its string value, read from `id`'s own state (READONLY STALE:
   * no ReadIndex, so it shows exactly what that replica has applied).
   */
  async localValues(id: string, pattern = '*'): Promise<Map<string, string | null>> {
    const conn = await RawConnection.connect(this.node(id).port);
    try {
      const ok = await conn.call(['READONLY', 'STALE']);
      if (ok !== 'OK') throw new Error(`READONLY STALE on ${id}: ${String(ok)}`);
      const keys = (await conn.call(['KEYS', pattern], 10_000)) as string[];
      if (!Array.isArray(keys)) throw new Error(`KEYS on ${id}: ${String(keys)}`);
      keys.sort();
      const values = new Map<string, string | null>();
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        if (batch.length === 0) break;
        const got = (await conn.call(['MGET', ...batch], 10_000)) as Array<string | null>;
        batch.forEach((key, j) => values.set(key, got[j]));
      }
      return values;
    } finally {
      conn.close();
    }
  }

  /** The last lines each node printed, for failure reports. */
  logTail(lines = 25): string {
    let out = '';
    for (const node of this.nodes.values()) {
      out += `--- ${node.id} (client ${node.port}, raft ${node.raftPort}) ---\n${node.log.trimEnd().split('\n').slice(-lines).join('\n')}\n`;
    }
    return out;
  }

  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    if (!this.t.passing()) this.t.comment(`cluster logs (test failed):\n${this.logTail()}`);
    await Promise.all(
      [...this.nodes.values()].map(async (node) => {
        if (node.child && node.child.exitCode === null && node.child.signalCode === null) {
          node.stopping = true;
          // A profiled node gets to write its profile on a clean exit first.
          if (this.options.execArgv?.length) {
            node.child.kill('SIGTERM');
            if ((await Promise.race([node.exited, delay(10_000, 'timeout')])) !== 'timeout') return;
          }
          node.child.kill('SIGKILL');
          await node.exited;
        }
      }),
    );
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
