// A fault-injecting TCP proxy for one directed link between two cluster nodes.
//
// Each quorumlock node dials one outbound connection per peer and sends all its Raft traffic to
// that peer on it (the listener only answers the handshake), so a proxy placed on the address
// node A dials for node B carries exactly the A->B direction. Tests flip its mode to cut links:
//
//   pass     bytes flow both ways (optionally each chunk held back `delayMs`, order kept)
//   drop     connections stay open but every byte is discarded, like a silent black hole; on
//            leaving drop, connections that lost bytes are reset (their framing is broken), as a
//            TCP connection would time out after a long outage
//   stall    connections stay open and bytes are held back, then delivered in order on
//            leaving stall: what TCP does across an outage it survives (retransmission)
//   refuse   existing connections are closed and the proxy stops listening, so a dial fails
//            with ECONNREFUSED (a port that rejects); it listens again on the same port on leaving
//
// Test code only: no limits beyond what a short test needs.

import * as net from 'node:net';

export type ProxyMode = 'pass' | 'drop' | 'stall' | 'refuse';

interface Pair {
  readonly downstream: net.Socket;
  readonly upstream: net.Socket;
  /** Bytes were discarded on this pair: it cannot carry a valid stream any more. */
  damaged: boolean;
  /** Held back while stalled, in arrival order, with the socket each chunk is for. */
  held: Array<{ to: net.Socket; chunk: Buffer }>;
}

export class TcpProxy {
  private mode: ProxyMode = 'pass';
  private delayMs = 0;
  private readonly pairs = new Set<Pair>();
  private closed = false;
  /** Bytes forwarded and discarded, both directions, for test diagnostics. */
  forwardedBytes = 0;
  droppedBytes = 0;

  private constructor(
    private server: net.Server,
    readonly port: number,
    readonly targetPort: number,
    readonly name: string,
  ) {}

  /** Listens on a free loopback port (or `listenPort`) and forwards to 127.0.0.1:targetPort. */
  static async start(targetPort: number, name = `->${targetPort}`, listenPort = 0): Promise<TcpProxy> {
    const holder: { proxy: TcpProxy | null } = { proxy: null };
    const server = await listen(listenPort, (socket) => holder.proxy!.accept(socket));
    holder.proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port, targetPort, name);
    return holder.proxy;
  }

  get currentMode(): ProxyMode {
    return this.mode;
  }

  /** Changes the mode; resolves once the listener is closed or listening again, as the mode needs. */
  async setMode(mode: ProxyMode, delayMs = 0): Promise<void> {
    const was = this.mode;
    this.mode = mode;
    this.delayMs = mode === 'pass' ? delayMs : 0;
    if (mode === 'refuse' && was !== 'refuse') {
      for (const pair of [...this.pairs]) this.destroy(pair);
      const server = this.server;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    } else if (mode !== 'refuse' && was === 'refuse' && !this.closed) {
      this.server = await listen(this.port, (socket) => this.accept(socket));
    } else if (was === 'drop' && mode === 'pass') {
      for (const pair of [...this.pairs]) if (pair.damaged) this.destroy(pair);
    }
    if (was === 'stall' && mode !== 'stall') {
      for (const pair of this.pairs) {
        for (const { to, chunk } of pair.held.splice(0)) if (mode === 'pass' && !to.destroyed) to.write(chunk);
        if (mode !== 'pass') pair.damaged = true;
      }
    }
  }

  private accept(downstream: net.Socket): void {
    downstream.on('error', () => undefined);
    if (this.closed || this.mode === 'refuse') {
      downstream.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    upstream.on('error', () => undefined);
    const pair: Pair = { downstream, upstream, damaged: false, held: [] };
    this.pairs.add(pair);
    const relay = (from: net.Socket, to: net.Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (this.mode === 'stall') {
          pair.held.push({ to, chunk });
          return;
        }
        if (this.mode !== 'pass') {
          this.droppedBytes += chunk.length;
          pair.damaged = true;
          return;
        }
        this.forwardedBytes += chunk.length;
        if (this.delayMs > 0) setTimeout(() => to.destroyed || to.write(chunk), this.delayMs);
        else if (!to.destroyed) to.write(chunk);
      });
      from.on('close', () => this.destroy(pair));
    };
    relay(downstream, upstream);
    relay(upstream, downstream);
  }

  private destroy(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.downstream.destroy();
    pair.upstream.destroy();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const pair of [...this.pairs]) this.destroy(pair);
    if (this.mode !== 'refuse') await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function listen(port: number, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer(onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
