// Proves output is bounded per client: a client that pipelines big replies without reading them
// makes the server stop reading its socket (its output stays near the soft limit and no reply is
// lost once it reads again), and a subscriber that never reads is disconnected at the hard limit
// without harming the publisher.

import t from 'tap';
import * as net from 'node:net';
import Redis from 'ioredis';
import { startServer, waitFor } from '../helpers/servers';

const softBytes = 256 * 1024;
const hardBytes = 2 * 1024 * 1024;

t.test('a client that does not read is paused at the soft limit and loses nothing', async (t) => {
  const pipelineMax = 16;
  const server = await startServer(t, { clientOutputSoftBytes: softBytes, clientOutputHardBytes: 64 * 1024 * 1024, clientPipelineMax: pipelineMax });
  const setup = new Redis(server.port);
  t.teardown(() => setup.disconnect());
  const value = 'x'.repeat(100 * 1024);
  await setup.set('big', value);

  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.pause(); // read nothing for now
  const requests = 400; // 40 MB of replies if the server buffered them all
  socket.write('GET big\r\n'.repeat(requests));
  // Wait until the server has stopped making progress on this client.
  let last = -1;
  await waitFor('the server to stop reading the paused client', async () => {
    const client = [...server.clients()].find((c) => c.commandsProcessed > 0 && c.lastCommand.toLowerCase() === 'get');
    if (!client) return false;
    const processed = client.commandsProcessed;
    const stalled = processed === last;
    last = processed;
    await new Promise((r) => setTimeout(r, 100));
    return stalled;
  });
  const client = [...server.clients()].find((c) => c.lastCommand.toLowerCase() === 'get')!;
  t.ok(client.commandsProcessed < requests, `stopped after ${client.commandsProcessed} of ${requests} commands`);
  // At most the soft limit plus the replies of the commands already accepted (pipelineMax).
  const bound = softBytes + (pipelineMax + 1) * (value.length + 16);
  t.ok(client.outputBytes <= bound, `output held at ${client.outputBytes} bytes (bound ${bound}) instead of ${requests * value.length}`);

  // Now read everything: every reply arrives, in full.
  let received = 0;
  const expectedBytes = requests * (value.length + `$${value.length}\r\n`.length + 2);
  await new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= expectedBytes) resolve();
    });
    socket.resume();
  });
  t.equal(received, expectedBytes, 'all replies delivered after the client resumed reading');
  socket.destroy();
});

t.test('a subscriber that never reads is closed at the hard limit; the publisher is fine', async (t) => {
  const server = await startServer(t, { clientOutputSoftBytes: softBytes, clientOutputHardBytes: hardBytes });
  const subscriber = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => subscriber.once('connect', r));
  subscriber.write('SUBSCRIBE flood\r\n');
  await waitFor('the subscription', () => server.pubsub.subscriberCount('flood') === 1);
  subscriber.pause();

  const publisher = new Redis(server.port);
  t.teardown(() => publisher.disconnect());
  const message = 'm'.repeat(64 * 1024);
  let published = 0;
  while (server.pubsub.subscriberCount('flood') === 1 && published < 2000) {
    await publisher.publish('flood', message);
    published++;
  }
  t.equal(server.pubsub.subscriberCount('flood'), 0, `the subscriber was dropped after ${published} messages`);
  t.ok(published * message.length > hardBytes, 'only after its output passed the hard limit');
  t.equal(await publisher.ping(), 'PONG', 'the publisher is unharmed');
  subscriber.destroy();
});
