// The Raft transport between nodes: msgpack frames over TCP.
//
// Each node dials one outbound connection per peer (a PeerLink) and only writes on it; it accepts
// the peers' outbound connections and only reads from those. send() never blocks: messages are
// queued per peer and everything queued in one event-loop turn goes out as one frame in one write,
// so a Ready with many messages to a peer costs one syscall. A dialer must introduce itself first
// (protocol version, cluster id, node id); a listener welcomes a known peer, or refuses a stranger
// with a reason and closes.

import assert from 'node:assert';
import * as net from 'node:net';
import type { NodeId } from '../types';
import { FrameReader, FrameTooLargeError, decodePayload, encodeRefusal, encodeWelcome, frameHeader, protocolVersion, type RefusalCode } from './frame';
import { PeerLink, type PeerLinkConfig, type PeerLinkStats, type TransportLogger } from './peer_link';

export type { TransportLogger, PeerLinkStats } from './peer_link';

/** What the transport needs of a Raft message; the rest is carried as is (msgpack). */
export interface WireMessage {
  readonly type: unknown;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export interface TcpTransportOptions<M extends WireMessage> {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly listenHost: string;
  /** 0 picks a free port; read it back from `listenPort` after start(). */
  readonly listenPort: number;
  /** Peer id -> 'host:port'. An entry for this node itself is ignored. */
  readonly peers: ReadonlyMap<NodeId, string>;
  /** Called once per message from an accepted peer, in the order that peer sent them. */
  readonly onMessage: (message: M) => void;
  readonly logger?: TransportLogger;
  readonly dialTimeoutMs?: number;
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
  /** Largest frame accepted or sent; a bigger incoming frame closes its connection. */
  readonly frameBytesMax?: number;
  /** Messages kept per peer while it is not connected; older ones are dropped first. */
  readonly queueMessagesMax?: number;
  /** Past this many bytes waiting in a peer's socket, new messages to it are dropped. */
  readonly writableBytesMax?: number;
  /** An inbound connection must say hello within this time. */
  readonly handshakeTimeoutMs?: number;
  /**
   * A dial to a peer was refused by its host (ECONNREFUSED): nothing listens on its Raft port,
   * so its process is not running (a host that is down or cut off times out instead).
   */
  readonly onPeerPortClosed?: (peerId: NodeId) => void;
  /** Our connection to a peer was accepted (after each reconnect too). */
  readonly onPeerConnected?: (peerId: NodeId) => void;
}

export interface TransportStats {
  readonly peers: PeerLinkStats[];
  readonly inboundConnections: number;
  readonly receivedFrames: number;
  readonly receivedMessages: number;
  readonly refusedConnections: number;
  readonly protocolErrors: number;
  /** Messages for a node that is not a peer (or this node), dropped at send(). */
  readonly unroutableMessages: number;
}

const silentLogger: TransportLogger = { debug() {}, info() {}, warn() {}, error() {} };

interface Inbound {
  readonly socket: net.Socket;
  peerId: NodeId | null;
}

export class TcpTransport<M extends WireMessage = WireMessage> {
  private readonly nodeId: NodeId;
  private readonly clusterId: string;
  private readonly listenHost: string;
  private readonly requestedPort: number;
  private readonly onMessage: (message: M) => void;
  private readonly logger: TransportLogger;
  private readonly linkConfig: PeerLinkConfig;
  private readonly handshakeTimeoutMs: number;

  private peers = new Map<NodeId, string>();
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<Inbound>();
  private server: net.Server | null = null;
  private boundPort = 0;
  private flushScheduled: NodeJS.Immediate | null = null;
  private readonly dirty = new Set<PeerLink>();
  private started = false;
  private stopped = false;

  private receivedFrames = 0;
  private receivedMessages = 0;
  private refusedConnections = 0;
  private protocolErrors = 0;
  private unroutableMessages = 0;

  constructor(options: TcpTransportOptions<M>) {
    assert(options.nodeId !== '', 'nodeId must not be empty');
    this.nodeId = options.nodeId;
    this.clusterId = options.clusterId;
    this.listenHost = options.listenHost;
    this.requestedPort = options.listenPort;
    this.onMessage = options.onMessage;
    this.logger = options.logger ?? silentLogger;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5_000;
    const backoff = options.backoff ?? { minMs: 50, maxMs: 2_000 };
    assert(backoff.minMs > 0 && backoff.maxMs >= backoff.minMs, 'backoff needs 0 < minMs <= maxMs');
    this.linkConfig = {
      nodeId: this.nodeId,
      clusterId: this.clusterId,
      dialTimeoutMs: options.dialTimeoutMs ?? 1_000,
      backoffMinMs: backoff.minMs,
      backoffMaxMs: backoff.maxMs,
      frameBytesMax: options.frameBytesMax ?? 64 * 1024 * 1024,
      queueMessagesMax: options.queueMessagesMax ?? 1_024,
      writableBytesMax: options.writableBytesMax ?? 16 * 1024 * 1024,
      logger: this.logger,
      onPortClosed: options.onPeerPortClosed,
      onConnected: options.onPeerConnected,
    };
    this.peers = withoutSelf(options.peers, this.nodeId);
  }

  /** The port actually bound (useful with listenPort 0). */
  get listenPort(): number {
    return this.boundPort;
  }

  /** Listens for peers and starts dialing them. */
  async start(): Promise<void> {
    assert(!this.started, 'start() called twice');
    this.started = true;
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.requestedPort, this.listenHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.logger.error('raft transport: listener error', { err: error }));
    this.boundPort = (server.address() as net.AddressInfo).port;
    for (const [peerId, address] of this.peers) this.addLink(peerId, address);
  }

  /** Queues messages for their peers; returns at once. Messages to unknown nodes are dropped. */
  send(messages: readonly M[]): void {
    if (this.stopped) return;
    for (const message of messages) {
      const link = this.links.get(message.to);
      if (link === undefined) {
        this.unroutableMessages++;
        this.logger.debug('raft transport: dropped a message for a node that is not a peer', { to: message.to });
        continue;
      }
      link.enqueue(message);
      this.dirty.add(link);
    }
    if (this.dirty.size > 0 && this.flushScheduled === null) {
      // Everything sent during this turn leaves together.
      this.flushScheduled = setImmediate(() => this.flush());
    }
  }

  /** Writes what send() queued now, instead of at the end of this event-loop turn. */
  flushNow(): void {
    if (this.flushScheduled === null) return;
    clearImmediate(this.flushScheduled);
    this.flush();
  }

  /** Applies a membership change: dials new peers, drops removed ones (and their inbound connections). */
  setPeers(peers: ReadonlyMap<NodeId, string>): void {
    const next = withoutSelf(peers, this.nodeId);
    this.peers = next;
    if (!this.started || this.stopped) return;
    for (const [peerId, link] of this.links) {
      if (next.get(peerId) === link.address) continue;
      link.close();
      this.links.delete(peerId);
      this.dirty.delete(link);
    }
    for (const entry of this.inbound) {
      if (entry.peerId !== null && !next.has(entry.peerId)) entry.socket.destroy();
    }
    for (const [peerId, address] of next) if (!this.links.has(peerId)) this.addLink(peerId, address);
  }

  /** Closes the listener and every connection and clears every timer. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.dirty.clear();
    for (const entry of this.inbound) entry.socket.destroy();
    this.inbound.clear();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  stats(): TransportStats {
    return {
      peers: [...this.links.values()].map((link) => link.stats()),
      inboundConnections: this.inbound.size,
      receivedFrames: this.receivedFrames,
      receivedMessages: this.receivedMessages,
      refusedConnections: this.refusedConnections,
      protocolErrors: this.protocolErrors,
      unroutableMessages: this.unroutableMessages,
    };
  }

  private addLink(peerId: NodeId, address: string): void {
    const link = new PeerLink(peerId, address, this.linkConfig);
    this.links.set(peerId, link);
    link.start();
  }

  private flush(): void {
    this.flushScheduled = null;
    for (const link of this.dirty) link.flush();
    this.dirty.clear();
  }

  private accept(socket: net.Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    const entry: Inbound = { socket, peerId: null };
    this.inbound.add(entry);
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const reader = new FrameReader(this.linkConfig.frameBytesMax);
    let closing = false;
    const handshakeTimer = setTimeout(() => {
      this.logger.warn(`raft transport: ${remote} sent no hello within ${this.handshakeTimeoutMs} ms; closing`, { remote });
      socket.destroy();
    }, this.handshakeTimeoutMs);

    const protocolError = (what: string): false => {
      this.protocolErrors++;
      const who = entry.peerId ?? remote;
      this.logger.error(`raft transport: protocol error from ${who}: ${what}; closing the connection`, { remote, peer: entry.peerId ?? undefined });
      closing = true;
      socket.destroy();
      return false;
    };
    const refuse = (code: RefusalCode, detail: string, why: string): false => {
      this.refusedConnections++;
      this.logger.warn(`raft transport: refused a connection from ${remote}: ${why}`, { remote });
      const payload = encodeRefusal(code, detail);
      closing = true;
      socket.cork();
      socket.write(frameHeader(payload.length));
      socket.write(payload);
      socket.uncork();
      socket.end();
      return false;
    };

    const onFrame = (raw: Buffer): boolean => {
      this.receivedFrames++;
      const payload = decodePayload(raw);
      if (typeof payload === 'string') return protocolError(payload);
      if (entry.peerId === null) {
        if (payload.kind !== 'hello') return protocolError(`a ${payload.kind} frame before the hello`);
        clearTimeout(handshakeTimer);
        if (payload.protocolVersion !== protocolVersion) {
          return refuse('protocol-version', String(protocolVersion), `protocol version ${payload.protocolVersion}, ours is ${protocolVersion}`);
        }
        if (payload.clusterId !== this.clusterId) {
          return refuse('cluster-id', this.clusterId, `cluster id mismatch (ours ${this.clusterId}, theirs ${payload.clusterId})`);
        }
        if (payload.to !== this.nodeId) {
          return refuse('wrong-node', this.nodeId, `it wanted node ${payload.to}, this is ${this.nodeId}`);
        }
        if (!this.peers.has(payload.from)) {
          return refuse('unknown-node', [...this.peers.keys()].join(','), `node id ${payload.from} is not a peer`);
        }
        entry.peerId = payload.from;
        const welcome = encodeWelcome(this.nodeId);
        socket.cork();
        socket.write(frameHeader(welcome.length));
        socket.write(welcome);
        socket.uncork();
        this.logger.debug(`raft transport: accepted ${payload.from} from ${remote}`, { peer: payload.from });
        this.links.get(payload.from)?.peerDialedUs();
        return true;
      }
      if (payload.kind !== 'messages') return protocolError(`unexpected ${payload.kind} frame after the hello`);
      for (const message of payload.messages) {
        if (!isWireMessage(message)) return protocolError('a message without from/to/term');
        if (message.from !== entry.peerId || message.to !== this.nodeId) {
          return protocolError(`a message from ${message.from} to ${message.to} on ${entry.peerId}'s connection to ${this.nodeId}`);
        }
      }
      for (const message of payload.messages) {
        this.receivedMessages++;
        this.onMessage(message as M);
        if (this.stopped || closing) return false;
      }
      return true;
    };

    socket.on('data', (chunk: Buffer) => {
      if (closing) return;
      try {
        reader.push(chunk, onFrame);
      } catch (error) {
        if (!(error instanceof FrameTooLargeError)) throw error;
        protocolError(error.message);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.logger.debug('raft transport: inbound connection error', { remote, peer: entry.peerId ?? undefined, err: error });
    });
    socket.once('close', () => {
      clearTimeout(handshakeTimer);
      this.inbound.delete(entry);
    });
  }
}

function withoutSelf(peers: ReadonlyMap<NodeId, string>, self: NodeId): Map<NodeId, string> {
  const out = new Map<NodeId, string>();
  for (const [peerId, address] of peers) if (peerId !== self) out.set(peerId, address);
  return out;
}

function isWireMessage(value: unknown): value is WireMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return typeof m.from === 'string' && typeof m.to === 'string' && typeof m.term === 'number';
}
