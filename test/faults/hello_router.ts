// Keeps the per-link fault proxies in the path of a node that was removed and re-added.
//
// RAFT.ADDNODE takes one Raft address for the new member, and every node dials that address, so
// the per-direction proxies (A->X through proxy "A->X") would be bypassed after a re-add. The
// router listens on one port, reads the dialer's first frame (the transport's hello, which names
// the sender), and splices the connection into the proxy for that direction. Everything after
// the hello is relayed untouched, both ways. Test code only.

import * as net from 'node:net';
import { decodePayload, frameHeaderBytes } from '../../src/raft/transport/frame';

const helloBytesMax = 64 * 1024;

export class HelloRouter {
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly route: (from: string) => number | null,
  ) {}

  /** `route(from)`: the port to splice a connection from node `from` into (null: refuse it). */
  static async start(route: (from: string) => number | null): Promise<HelloRouter> {
    const holder: { router: HelloRouter | null } = { router: null };
    const server = net.createServer((socket) => holder.router!.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    holder.router = new HelloRouter(server, (server.address() as net.AddressInfo).port, route);
    return holder.router;
  }

  private accept(downstream: net.Socket): void {
    this.sockets.add(downstream);
    downstream.on('error', () => undefined);
    downstream.on('close', () => this.sockets.delete(downstream));
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < frameHeaderBytes) return;
      const length = buffered.readUInt32BE(0);
      if (length > helloBytesMax) return void downstream.destroy();
      if (buffered.length < frameHeaderBytes + length) return;
      downstream.off('data', onData);
      downstream.pause();
      const hello = decodePayload(buffered.subarray(frameHeaderBytes, frameHeaderBytes + length));
      const port = typeof hello === 'object' && hello.kind === 'hello' ? this.route(hello.from) : null;
      if (port === null) return void downstream.destroy();
      const upstream = net.connect(port, '127.0.0.1');
      this.sockets.add(upstream);
      upstream.on('error', () => downstream.destroy());
      upstream.on('close', () => {
        this.sockets.delete(upstream);
        downstream.destroy();
      });
      downstream.on('close', () => upstream.destroy());
      upstream.once('connect', () => {
        upstream.write(buffered);
        downstream.pipe(upstream);
        upstream.pipe(downstream);
        downstream.resume();
      });
    };
    downstream.on('data', onData);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
