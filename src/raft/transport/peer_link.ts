// The one outbound connection from this node to one peer. It carries every message to that peer
// (heartbeats and appends share it, so they stay in order), reconnects with capped exponential
// backoff and jitter, and never holds unbounded memory: while not connected it keeps only the
// newest queueMessagesMax messages, and while the socket's buffer is over writableBytesMax it
// drops new messages. Dropping is safe: Raft retransmits whatever a peer did not acknowledge.
//
// It only writes, apart from reading the listener's one answer to its hello: a welcome, or a
// refusal, which it logs and then backs off.

import * as net from 'node:net';
import { FrameReader, FrameTooLargeError, decodePayload, encodeHello, encodeMessages, frameHeader, protocolVersion } from './frame';

export interface TransportLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface PeerLinkConfig {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly dialTimeoutMs: number;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  readonly frameBytesMax: number;
  readonly queueMessagesMax: number;
  readonly writableBytesMax: number;
  readonly logger: TransportLogger;
  /** A dial was refused (ECONNREFUSED): the peer's host is up but its process is not listening. */
  readonly onPortClosed?: (peerId: string) => void;
  /** The peer accepted our hello: it runs and takes our messages. */
  readonly onConnected?: (peerId: string) => void;
}

export interface PeerLinkStats {
  readonly nodeId: string;
  readonly address: string;
  readonly connected: boolean;
  readonly queuedMessages: number;
  /** Bytes waiting in the socket's user-space buffer. */
  readonly writableBytes: number;
  readonly sentMessages: number;
  readonly sentFrames: number;
  readonly droppedMessages: number;
  readonly connectAttempts: number;
  readonly lastError: string;
}

type LinkState = 'connecting' | 'open' | 'backoff' | 'closed';
type FailureKind = 'unreachable' | 'refused' | 'protocol' | 'lost';

/** Messages per frame at most (see flush()); a turn's messages to one peer are far fewer but in a catch-up. */
export const FRAME_MESSAGES_MAX = 256;

export function parseAddress(address: string): { host: string; port: number } | null {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return null;
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return null;
  return { host, port };
}

export class PeerLink {
  private state: LinkState = 'backoff';
  private socket: net.Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private queue: unknown[] = [];
  private attempt = 0;
  /** The last failure we logged, so a peer that stays down is reported once, not per retry. */
  private loggedFailure = '';

  private sentMessages = 0;
  private sentFrames = 0;
  private droppedMessages = 0;
  private connectAttempts = 0;
  private lastError = '';

  constructor(
    readonly peerId: string,
    readonly address: string,
    private readonly config: PeerLinkConfig,
  ) {}

  start(): void {
    this.dial();
  }

  get connected(): boolean {
    return this.state === 'open';
  }

  /** Queues a message for the next flush; drops what the bounds do not allow. */
  enqueue(message: unknown): void {
    if (this.state === 'closed') return;
    if (this.state === 'open' && this.socket !== null && this.socket.writableLength > this.config.writableBytesMax) {
      this.droppedMessages++;
      return;
    }
    this.queue.push(message);
    if (this.state !== 'open' && this.queue.length > this.config.queueMessagesMax) {
      this.queue.shift();
      this.droppedMessages++;
    }
  }

  /**
   * Writes what is queued: one frame in the usual case. A turn can queue far more than the socket
   * bound allows, because enqueue() checks the buffer as it was before this turn's write: a
   * leader catching a follower up sends 256 appends of up to 1 MiB each, and a queue kept while
   * the peer was unreachable can hold 1,024 of them. Written whole, that was gigabytes in one
   * socket's buffer (a node of the fault suite reached 8 GB behind a stalled link). So frames of
   * FRAME_MESSAGES_MAX messages go out while the socket's buffer is under its bound, and the rest
   * are dropped (Raft sends again what was not acknowledged).
   */
  flush(): void {
    if (this.state !== 'open' || this.socket === null || this.queue.length === 0) return;
    const messages = this.queue;
    this.queue = [];
    if (messages.length <= FRAME_MESSAGES_MAX) {
      this.writeMessages(this.socket, messages);
      return;
    }
    for (let i = 0; i < messages.length; i += FRAME_MESSAGES_MAX) this.writeMessages(this.socket, messages.slice(i, i + FRAME_MESSAGES_MAX));
  }

  private writeMessages(socket: net.Socket, messages: unknown[]): void {
    if (socket.writableLength > this.config.writableBytesMax) {
      this.droppedMessages += messages.length;
      return;
    }
    const payload = encodeMessages(messages);
    if (payload.length > this.config.frameBytesMax) {
      if (messages.length === 1) {
        this.droppedMessages++;
        this.config.logger.error(`raft transport: a message to ${this.peerId} encodes to ${payload.length} bytes, over the frame limit; dropped`, {
          peer: this.peerId,
          frameBytesMax: this.config.frameBytesMax,
        });
        return;
      }
      const half = messages.length >> 1;
      this.writeMessages(socket, messages.slice(0, half));
      this.writeMessages(socket, messages.slice(half));
      return;
    }
    this.writeFrame(socket, payload);
    this.sentMessages += messages.length;
  }

  private writeFrame(socket: net.Socket, payload: Buffer): void {
    // One buffer, one write(2): cork + two writes went through writev and its per-chunk bookkeeping.
    socket.write(Buffer.concat([frameHeader(payload.length), payload]));
    this.sentFrames++;
  }

  close(): void {
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    if (this.socket) this.socket.destroy();
    this.socket = null;
  }

  stats(): PeerLinkStats {
    return {
      nodeId: this.peerId,
      address: this.address,
      connected: this.state === 'open',
      queuedMessages: this.queue.length,
      writableBytes: this.socket ? this.socket.writableLength : 0,
      sentMessages: this.sentMessages,
      sentFrames: this.sentFrames,
      droppedMessages: this.droppedMessages,
      connectAttempts: this.connectAttempts,
      lastError: this.lastError,
    };
  }

  private dial(): void {
    if (this.state === 'closed') return;
    this.timer = null;
    const target = parseAddress(this.address);
    if (target === null) {
      this.fail('unreachable', `invalid address "${this.address}" (expected host:port)`);
      this.scheduleRedial();
      return;
    }
    this.state = 'connecting';
    this.connectAttempts++;
    const socket = net.connect({ host: target.host, port: target.port });
    this.socket = socket;
    socket.setNoDelay(true);
    const reader = new FrameReader(this.config.frameBytesMax);
    let failure: { kind: FailureKind; detail: string } | null = null;
    let welcomed = false;
    const dialTimer = setTimeout(() => {
      failure = { kind: 'unreachable', detail: `no connection within ${this.config.dialTimeoutMs} ms` };
      socket.destroy();
    }, this.config.dialTimeoutMs);

    socket.once('connect', () => {
      clearTimeout(dialTimer);
      if (this.state !== 'connecting' || this.socket !== socket) return;
      this.state = 'open';
      socket.setKeepAlive(true, 10_000);
      this.writeFrame(socket, encodeHello(this.config.clusterId, this.config.nodeId, this.peerId));
      this.flush();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (raw) => {
          const payload = decodePayload(raw);
          if (typeof payload !== 'string' && payload.kind === 'welcome' && !welcomed) {
            welcomed = true;
            // Accepted: a healthy connection, so the next failure is news and retries start fast.
            this.attempt = 0;
            if (this.loggedFailure !== '') this.config.logger.info(`raft transport: connected to ${this.peerId} at ${this.address}`, { peer: this.peerId });
            this.loggedFailure = '';
            this.config.onConnected?.(this.peerId);
            return true;
          }
          if (typeof payload === 'string') failure = { kind: 'protocol', detail: payload };
          else if (payload.kind === 'refusal') failure = { kind: 'refused', detail: describeRefusal(payload.code, payload.detail, this.config) };
          else failure = { kind: 'protocol', detail: `unexpected ${payload.kind} frame on an outbound connection` };
          socket.destroy();
          return false;
        });
      } catch (error) {
        if (!(error instanceof FrameTooLargeError)) throw error;
        failure = { kind: 'protocol', detail: error.message };
        socket.destroy();
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (failure === null) failure = { kind: welcomed ? 'lost' : 'unreachable', detail: error.code ?? error.message };
    });
    socket.once('close', () => {
      clearTimeout(dialTimer);
      if (this.socket !== socket || this.state === 'closed') return;
      this.socket = null;
      if (failure === null) failure = { kind: welcomed ? 'lost' : 'unreachable', detail: this.state === 'open' ? 'connection closed' : 'connection failed' };
      this.fail(failure.kind, failure.detail);
      this.scheduleRedial();
      if (failure.detail === 'ECONNREFUSED') this.config.onPortClosed?.(this.peerId);
    });
  }

  private fail(kind: FailureKind, detail: string): void {
    const peer = this.peerId;
    const reason =
      kind === 'refused'
        ? `${peer} refused us: ${detail}`
        : kind === 'protocol'
          ? `protocol error from ${peer}: ${detail}`
          : kind === 'lost'
            ? `lost the connection to ${peer} at ${this.address}: ${detail}`
            : `cannot reach ${peer} at ${this.address}: ${detail}`;
    this.lastError = reason;
    const message = `raft transport: ${reason}`;
    // A failure that repeats is logged once loudly, then quietly on every retry. Refusals and
    // protocol errors are configuration mistakes: errors. Unreachable peers are normal in restarts.
    if (reason === this.loggedFailure) this.config.logger.debug(message, { peer });
    else if (kind === 'refused' || kind === 'protocol') this.config.logger.error(message, { peer });
    else this.config.logger.warn(`${message}; retrying with backoff`, { peer });
    this.loggedFailure = reason;
  }

  /**
   * The peer just dialled us and passed our hello check: its process is up. If this link is
   * waiting out a backoff (the peer was down long enough for the delay to grow towards
   * backoffMaxMs), dial now. Otherwise our replies to it, votes among them, wait for that delay:
   * in the benchmark, a leader killed right after a restarted node came back left the survivors
   * without a quorum for 0.3-0.8 s, because a survivor's pre-vote answers could not reach the
   * restarted node until its link's backoff ran out.
   */
  peerDialedUs(): void {
    if (this.state !== 'backoff') return;
    if (this.timer) clearTimeout(this.timer);
    this.attempt = 0;
    this.dial();
  }

  private scheduleRedial(): void {
    if (this.state === 'closed') return;
    this.state = 'backoff';
    const ceilingMs = Math.min(this.config.backoffMaxMs, this.config.backoffMinMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    // "Equal jitter": between half and all of the ceiling, so peers that failed together spread out.
    const delayMs = ceilingMs / 2 + Math.random() * (ceilingMs / 2);
    this.timer = setTimeout(() => this.dial(), delayMs);
  }
}

function describeRefusal(code: string, detail: string, config: PeerLinkConfig): string {
  switch (code) {
    case 'cluster-id':
      return `cluster id mismatch (ours ${config.clusterId}, theirs ${detail})`;
    case 'protocol-version':
      return `protocol version mismatch (ours ${protocolVersion}, theirs ${detail})`;
    case 'unknown-node':
      return `it does not know node id ${config.nodeId} (its peers: ${detail || 'none'}); add this node to its membership or fix --node-id`;
    case 'wrong-node':
      return `the address belongs to node ${detail}, not the peer we meant to dial; check the peer address list`;
    default:
      return `${code}: ${detail}`;
  }
}
