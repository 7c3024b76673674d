// One client connection: socket <-> request parser <-> dispatcher <-> reply encoder.
//
// Pipelining: every command gets a slot in arrival order; a command that completes later (a
// write waiting for commit, a read waiting for its ReadIndex) holds back the replies behind it,
// so replies always leave in request order. Backpressure: reading stops while the socket's
// pending output or the number of unanswered commands is over its soft limit, and a client
// whose output passes the hard limit is closed (as Redis's client-output-buffer-limit does).

import type { Socket } from 'node:net';
import { ErrorReply, PushReply, type Reply } from '../resp/reply';
import { RequestParser } from '../resp/request_parser';
import { ReplyWriter } from '../resp/encoder';
import type { Subscriber } from './pubsub';
import { ReplySequence } from './reply_sequence';
import type { Logger } from './log';
import { PendingReply, type ReplyOrLater, type ReplyReceiver } from './pending_reply';

export interface ClientLimits {
  inlineBytesMax: number;
  bulkBytesMax: number;
  arrayLengthMax: number;
  outputSoftBytes: number;
  outputHardBytes: number;
  pipelineMax: number;
}

export interface ClientHost {
  /** Runs one command; a PendingReply or a Promise for commands that wait on the log or a read index. */
  dispatch(client: Client, argv: string[]): ReplyOrLater | ReplySequence;
  /** The connection is gone: drop subscriptions and registry entries. */
  clientClosed(client: Client): void;
  readonly logger: Logger;
}

interface Slot {
  reply: Reply | ReplySequence | undefined;
  protocol: 2 | 3;
  done: boolean;
}

export class Client implements Subscriber, ReplyReceiver<Slot> {
  protocol: 2 | 3 = 2;
  db = 0;
  name = '';
  libName = '';
  libVersion = '';
  authenticated: boolean;
  /** Per-connection opt-in (READONLY STALE): reads served from local state without a ReadIndex, possibly stale. */
  staleReads = false;
  readonly subscriptions = new Set<string>();
  readonly patterns = new Set<string>();
  readonly createdAtMs = Date.now();
  lastActiveMs = Date.now();
  lastCommand = '';
  commandsProcessed = 0;
  closed = false;
  /** Reads of this connection still waiting for their read index (see dispatcher routeData). */
  readsInFlight = 0;
  /** The last data command that had to wait behind earlier ones; later ones queue behind it. */
  orderingTail: Promise<void> | null = null;
  private drainWaiters: Array<() => void> = [];

  private readonly parser: RequestParser;
  private readonly writer = new ReplyWriter();
  private readonly pending: Slot[] = [];
  private closeAfterFlush = false;
  private paused = false;
  private flushScheduled = false;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly host: ClientHost,
    private readonly limits: ClientLimits,
    requiresAuth: boolean,
  ) {
    this.authenticated = !requiresAuth;
    this.parser = new RequestParser({
      inlineBytesMax: limits.inlineBytesMax,
      bulkBytesMax: limits.bulkBytesMax,
      arrayLengthMax: limits.arrayLengthMax,
    });
    this.parser.setAuthenticated(this.authenticated);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  get address(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  get localAddress(): string {
    return `${this.socket.localAddress}:${this.socket.localPort}`;
  }

  get subscriptionCount(): number {
    return this.subscriptions.size + this.patterns.size;
  }

  /** In RESP2, a client with subscriptions may only run the pub/sub commands. */
  get inSubscriberMode(): boolean {
    return this.protocol === 2 && this.subscriptionCount > 0;
  }

  get outputBytes(): number {
    return this.socket.writableLength + this.writer.pendingBytes;
  }

  /** Resolves once no read of this connection is in flight. */
  whenReadsDrained(): Promise<void> {
    if (this.readsInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  readsDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  setAuthenticated(value: boolean): void {
    this.authenticated = value;
    this.parser.setAuthenticated(value);
  }

  /** Replies the pending replies, then closes (QUIT, protocol errors, CLIENT KILL). */
  closeAfterReplies(): void {
    this.closeAfterFlush = true;
    // Not flushed here: QUIT's own +OK is queued after this call and must go out first.
    this.scheduleFlush();
  }

  /** Out-of-band message (pub/sub). Goes out after the replies already completed. */
  push(reply: PushReply): void {
    if (this.closed) return;
    this.writer.write(this.protocol === 3 ? reply : reply.items, this.protocol);
    this.scheduleFlush();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.length = 0;
    this.socket.destroy();
    this.host.clientClosed(this);
  }

  private onData(chunk: Buffer): void {
    this.parser.feed(chunk);
    this.processInput();
  }

  private processInput(): void {
    while (!this.closed && !this.closeAfterFlush) {
      if (this.overSoftLimit()) {
        this.pause();
        break;
      }
      let argv: string[] | null;
      try {
        argv = this.parser.next();
      } catch (error) {
        // A protocol error: reply it, then close this connection only.
        const message = error instanceof Error ? error.message : String(error);
        this.enqueueDone(new ErrorReply(message.startsWith('ERR') ? message : `ERR ${message}`));
        this.host.logger.debug('protocol error, closing client', { client: this.id, err: message });
        this.closeAfterReplies();
        break;
      }
      if (argv === null) break;
      if (argv.length === 0) continue;
      this.execute(argv);
    }
    this.flush();
  }

  private execute(argv: string[]): void {
    this.lastActiveMs = Date.now();
    this.lastCommand = argv[0];
    this.commandsProcessed++;
    let result: ReplyOrLater | ReplySequence;
    try {
      result = this.host.dispatch(this, argv);
    } catch (error) {
      this.host.logger.error('command handler threw; replying an error', { command: argv[0], err: error as Error });
      result = new ErrorReply(`ERR internal error while running '${argv[0]}': ${(error as Error).message}`);
    }
    if (result instanceof PendingReply || result instanceof Promise) {
      const slot: Slot = { reply: undefined, protocol: this.protocol, done: false };
      this.pending.push(slot);
      if (result instanceof PendingReply) {
        // A write waiting for its entry: the reply comes to receiveReply() with this slot.
        result.deliverTo(this, slot);
      } else {
        result.then(
          (reply) => this.receiveReply(slot, reply),
          (error: Error) => this.receiveReply(slot, new ErrorReply(error.message.startsWith('ERR') ? error.message : `ERR ${error.message}`)),
        );
      }
    } else {
      this.enqueueDone(result);
    }
  }

  private enqueueDone(reply: Reply | ReplySequence): void {
    if (this.pending.length === 0) {
      this.writeReply(reply, this.protocol);
    } else {
      this.pending.push({ reply, protocol: this.protocol, done: true });
    }
  }

  /** A reply that was waited for: written out with every finished one behind it, in request order. */
  receiveReply(slot: Slot, reply: Reply): void {
    if (this.closed) return;
    slot.reply = reply;
    slot.done = true;
    let drained = 0;
    while (drained < this.pending.length && this.pending[drained].done) {
      const head = this.pending[drained++];
      this.writeReply(head.reply as Reply | ReplySequence, head.protocol);
    }
    if (drained > 0) this.pending.splice(0, drained);
    this.scheduleFlush();
    this.maybeResume();
  }

  private writeReply(reply: Reply | ReplySequence, protocol: 2 | 3): void {
    if (reply instanceof ReplySequence) {
      for (const item of reply.items) this.writer.write(item, protocol);
    } else {
      this.writer.write(reply, protocol);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.closed) return;
    if (this.writer.pendingBytes > 0) this.socket.write(this.writer.take());
    if (this.socket.writableLength > this.limits.outputHardBytes) {
      this.host.logger.warn('client output over the hard limit; closing it', {
        client: this.id,
        outputBytes: this.socket.writableLength,
        limitBytes: this.limits.outputHardBytes,
      });
      this.destroy();
      return;
    }
    if (this.closeAfterFlush && this.pending.length === 0) {
      this.closed = true;
      this.socket.end();
      this.host.clientClosed(this);
    }
  }

  private overSoftLimit(): boolean {
    return this.socket.writableLength > this.limits.outputSoftBytes || this.pending.length >= this.limits.pipelineMax;
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (!this.paused || this.closed || this.overSoftLimit()) return;
    this.paused = false;
    this.socket.resume();
    this.processInput();
  }
}
