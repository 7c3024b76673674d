// Node-to-node traffic that is not Raft itself, carried on the Raft transport's connections:
//
// - hello: every node tells its peers where it serves clients, so any node can answer CLUSTER
//   SLOTS, SENTINEL and -MOVED with every member's client address, and knows who is reachable;
// - forward: in proxy mode a follower sends a client's write to the leader exactly once and
//   relays the reply. It is never re-sent: if the reply does not come back in time, the client
//   is told the outcome is unknown, because the leader may have applied it.

import { ErrorReply, type Reply } from '../resp/reply';
import { TcpTransport } from '../raft/transport/tcp_transport';
import type { Message, NodeId } from '../raft/types';
import type { Logger } from './log';
import { fromEntryTuples, withEntryTuples } from '../raft/transport/entry_tuples';
import { fromWire, toWire, type WireReply } from './reply_codec';

interface Hello {
  readonly type: 'ql.hello';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: 0;
  readonly clientAddress: string;
  /** Identifies this node's data dir (its creation time); a different one means the data was lost. */
  readonly incarnation: string;
  /** Master names Sentinel clients asked this node about, so every node names them in +switch-master. */
  readonly sentinelNames?: readonly string[];
}

interface Refuse {
  readonly type: 'ql.refuse';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: 0;
  readonly reason: string;
}

interface Forward {
  readonly type: 'ql.fwd';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: 0;
  readonly id: number;
  readonly db: number;
  readonly argv: string[];
  /** The follower's clock when it sent this; a forward older than half its timeout is not executed. */
  readonly sentAtMs: number;
}

interface ForwardReply {
  readonly type: 'ql.fwdReply';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: 0;
  readonly id: number;
  readonly reply: WireReply;
}

type LinkMessage = Message | Hello | Forward | ForwardReply | Refuse;

export interface ClusterLinkOptions {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly logger: Logger;
  readonly helloIntervalMs: number;
  /** How long a follower waits for the leader's reply to a forwarded write before saying "unknown". */
  readonly forwardTimeoutMs: number;
  /** This node's wall clock (the driver's, test-skewable), for the forward timestamps it writes and checks. */
  readonly clockMs: () => number;
  readonly onRaftMessage: (message: Message) => void;
  /** Runs a write forwarded by a follower, as if a local client had sent it. */
  readonly executeForwarded: (db: number, argv: string[]) => Promise<Reply>;
  readonly clientAddress: () => string;
  readonly incarnation: string;
  /** A peer said hello; the driver checks its incarnation against the one the cluster recorded. */
  readonly onHello: (nodeId: NodeId, incarnation: string) => void;
  /** A peer refused us (our data dir is not the one the cluster knows): fatal for this node. */
  readonly onRefused: (by: NodeId, reason: string) => void;
  /** A dial to a peer's Raft port was refused: its host is up but its process is not running. */
  readonly onPeerPortClosed?: (peerId: NodeId) => void;
  /** Our Raft connection to a peer was accepted: it runs. */
  readonly onPeerConnected?: (peerId: NodeId) => void;
  /** Master names Sentinel clients asked this node about, told to every peer in each hello. */
  readonly sentinelNames?: () => readonly string[];
  /** A peer's hello listed the master names its Sentinel clients asked about. */
  readonly onSentinelNames?: (names: readonly string[]) => void;
}

export const forwardUncertain = new ErrorReply(
  'UNCERTAIN the leader did not answer the forwarded write in time; it may or may not have been applied: read the key to find out before retrying',
);

const lateForward = new ErrorReply('CLUSTERDOWN the forwarded write reached the leader too late and was not executed; retry it');

export class ClusterLink {
  private readonly transport: TcpTransport<LinkMessage>;
  private readonly clientAddresses = new Map<NodeId, string>();
  private readonly lastHeardMs = new Map<NodeId, number>();
  private readonly pending = new Map<number, { to: NodeId; resolve: (reply: Reply) => void; timer: NodeJS.Timeout }>();
  private peers: Map<NodeId, string>;
  private nextForwardId = 1;
  /** Peers whose data dir is not the one the cluster knows: their Raft messages are dropped. */
  private readonly refused = new Map<NodeId, string>();
  private helloTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ClusterLinkOptions) {
    this.peers = new Map(options.peers);
    this.transport = new TcpTransport<LinkMessage>({
      nodeId: options.nodeId,
      clusterId: options.clusterId,
      listenHost: options.listenHost,
      listenPort: options.listenPort,
      peers: this.peers,
      onMessage: (message) => this.onMessage(message),
      logger: options.logger,
      onPeerPortClosed: options.onPeerPortClosed,
      onPeerConnected: options.onPeerConnected,
    });
  }

  async start(): Promise<void> {
    await this.transport.start();
    this.sayHello();
    this.helloTimer = setInterval(() => this.sayHello(), this.options.helloIntervalMs);
  }

  get raftPort(): number {
    return this.transport.listenPort;
  }

  sendRaft(messages: readonly Message[]): void {
    this.transport.send(withEntryTuples(messages) as LinkMessage[]);
  }

  /** Writes the Raft messages sent so far this turn to their sockets now. */
  flushRaft(): void {
    this.transport.flushNow();
  }

  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    this.peers = new Map(peers);
    this.transport.setPeers(this.peers);
    this.sayHello();
  }

  clientAddressOf(nodeId: NodeId): string {
    return this.clientAddresses.get(nodeId) ?? '';
  }

  /** Heard from within three hello intervals. */
  reachable(nodeId: NodeId): boolean {
    const last = this.lastHeardMs.get(nodeId);
    return last !== undefined && Date.now() - last < 3 * this.options.helloIntervalMs;
  }

  /** Sends a client's write to the leader, once. */
  forward(leaderId: NodeId, db: number, argv: string[]): Promise<Reply> {
    const id = this.nextForwardId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(forwardUncertain);
      }, this.options.forwardTimeoutMs);
      this.pending.set(id, { to: leaderId, resolve, timer });
      this.transport.send([{ type: 'ql.fwd', from: this.options.nodeId, to: leaderId, term: 0, id, db, argv, sentAtMs: this.options.clockMs() }]);
    });
  }

  /**
   * Another node leads now: writes forwarded to `oldLeaderId` will get no answer worth waiting for.
   * Their outcome is unknown (the old leader may have committed them before it went), so say so now
   * instead of at the forward timeout. The old leader refuses them if they reach it late anyway.
   */
  abandonForwardsTo(oldLeaderId: NodeId): void {
    for (const [id, waiter] of this.pending) {
      if (waiter.to !== oldLeaderId) continue;
      this.pending.delete(id);
      clearTimeout(waiter.timer);
      waiter.resolve(forwardUncertain);
    }
  }

  async stop(): Promise<void> {
    if (this.helloTimer) clearInterval(this.helloTimer);
    for (const { resolve, timer } of this.pending.values()) {
      clearTimeout(timer);
      resolve(forwardUncertain);
    }
    this.pending.clear();
    await this.transport.stop();
  }

  /** Stops listening to a peer's Raft messages and tells it why, every time it speaks. */
  refuse(nodeId: NodeId, reason: string): void {
    if (!this.refused.has(nodeId)) this.options.logger.error('refusing a peer whose data dir was replaced', { peer: nodeId, reason });
    this.refused.set(nodeId, reason);
    this.transport.send([{ type: 'ql.refuse', from: this.options.nodeId, to: nodeId, term: 0, reason }]);
  }

  /** RAFT.ADDNODE re-admits a node id: forget an earlier refusal. */
  forgive(nodeId: NodeId): void {
    this.refused.delete(nodeId);
  }

  /** Tells every peer where we serve clients (and the rest of the hello) now, not at the next interval. */
  sayHello(): void {
    const clientAddress = this.options.clientAddress();
    if (clientAddress === '') return;
    const sentinelNames = this.options.sentinelNames?.() ?? [];
    const hellos: Hello[] = [];
    for (const peer of this.peers.keys()) {
      if (peer !== this.options.nodeId) {
        hellos.push({ type: 'ql.hello', from: this.options.nodeId, to: peer, term: 0, clientAddress, incarnation: this.options.incarnation, sentinelNames });
      }
    }
    this.transport.send(hellos);
  }

  private onMessage(message: LinkMessage): void {
    this.lastHeardMs.set(message.from, Date.now());
    switch (message.type) {
      case 'ql.hello':
        this.clientAddresses.set(message.from, message.clientAddress);
        this.options.onHello(message.from, message.incarnation);
        if (Array.isArray(message.sentinelNames)) {
          this.options.onSentinelNames?.(message.sentinelNames.filter((name): name is string => typeof name === 'string'));
        }
        return;
      case 'ql.refuse':
        this.options.onRefused(message.from, message.reason);
        return;
      case 'ql.fwd':
        // A forward held up by a partition may arrive after the follower told its client the
        // outcome is unknown (at forwardTimeoutMs); executing it then would surprise a client that
        // already read the key and retried. Refuse it well before that point. Safe as long as the
        // two clocks are within forwardTimeoutMs/2 of each other.
        if (!(this.options.clockMs() - message.sentAtMs < this.options.forwardTimeoutMs / 2)) {
          this.reply(message, lateForward);
          return;
        }
        this.options.executeForwarded(message.db, message.argv).then(
          (reply) => this.reply(message, reply),
          (error: Error) => this.reply(message, new ErrorReply(`ERR ${error.message}`)),
        );
        return;
      case 'ql.fwdReply': {
        const waiter = this.pending.get(message.id);
        if (!waiter) return; // already answered as uncertain
        this.pending.delete(message.id);
        clearTimeout(waiter.timer);
        waiter.resolve(fromWire(message.reply));
        return;
      }
      default: {
        const refusal = this.refused.get(message.from);
        if (refusal !== undefined) {
          this.transport.send([{ type: 'ql.refuse', from: this.options.nodeId, to: message.from, term: 0, reason: refusal }]);
          return;
        }
        let raft: Message;
        try {
          raft = fromEntryTuples(message as Message);
        } catch (error) {
          this.options.logger.warn('dropped a malformed raft message', { from: message.from, err: error as Error });
          return;
        }
        this.options.onRaftMessage(raft);
      }
    }
  }

  private reply(request: Forward, reply: Reply): void {
    this.transport.send([{ type: 'ql.fwdReply', from: this.options.nodeId, to: request.from, term: 0, id: request.id, reply: toWire(reply) }]);
  }
}
