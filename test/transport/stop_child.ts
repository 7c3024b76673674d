// Child process of tcp_transport.test ("stop() leaves no open handles"): builds transports in
// every state (connected both ways, backing off from an unreachable peer, connected to a listener
// that never answers, holding an inbound connection that never said hello), stops them all, and
// then must exit by itself: any socket, server or timer left behind would keep this process
// alive and the parent would see it hang.

import * as net from 'node:net';
import { TcpTransport, type WireMessage } from '../../src/raft/transport/tcp_transport';

async function main(): Promise<void> {
  let received = 0;
  const make = (nodeId: string): TcpTransport<WireMessage> =>
    new TcpTransport({
      nodeId,
      clusterId: 'c1',
      listenHost: '127.0.0.1',
      listenPort: 0,
      peers: new Map(),
      onMessage: () => void received++,
      backoff: { minMs: 10, maxMs: 50 },
    });
  // A listener outside the transports that holds every connection open: only stop() can end them.
  const hold = net.createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve) => hold.listen(0, '127.0.0.1', resolve));
  let held = 0;
  hold.on('connection', () => held++);
  const a = make('n1');
  const b = make('n2');
  await a.start();
  await b.start();
  const peers = new Map([
    ['n1', `127.0.0.1:${a.listenPort}`],
    ['n2', `127.0.0.1:${b.listenPort}`],
    ['n9', '127.0.0.1:1'],
    ['n8', `127.0.0.1:${(hold.address() as net.AddressInfo).port}`],
  ]);
  a.setPeers(peers);
  b.setPeers(peers);
  const deadline = Date.now() + 5_000;
  while (received < 2 || held < 2) {
    if (Date.now() > deadline) throw new Error('no traffic');
    a.send([{ type: 0, from: 'n1', to: 'n2', term: 1 }, { type: 0, from: 'n1', to: 'n9', term: 1 }]);
    b.send([{ type: 0, from: 'n2', to: 'n1', term: 1 }]);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const silent = net.connect(a.listenPort, '127.0.0.1');
  silent.on('error', () => {});
  await new Promise((resolve) => silent.once('connect', resolve));
  await new Promise((resolve) => setTimeout(resolve, 20));
  a.send([{ type: 0, from: 'n1', to: 'n2', term: 1 }]); // a flush still scheduled at stop()
  await Promise.all([a.stop(), b.stop()]);
  silent.destroy();
  hold.close();
  process.stdout.write('stopped\n');
}

main().catch((error) => {
  process.stderr.write(`stop_child: ${(error as Error).stack}\n`);
  process.exit(1);
});
