// Proves the connection layer behaves like Redis on the wire: exact error texts from the
// dispatcher, HELLO switching to RESP3, ordered pipelined replies, AUTH gating, protocol errors
// that close only the offending connection, and pub/sub in RESP2 and RESP3. Uses raw sockets to
// check bytes, against an in-process server on a free port.

import t from 'tap';
import * as net from 'node:net';
import { rawExchange, startServer } from '../helpers/servers';

const crlf = (...lines: string[]): string => lines.map((l) => l + '\r\n').join('');

t.test('errors use Redis texts', async (t) => {
  const server = await startServer(t);
  const reply = await rawExchange(
    server.port,
    crlf('NOSUCH a b', 'GET', 'SET a', 'CLIENT FOO', 'PING'),
    (text) => text.includes('+PONG'),
  );
  t.equal(
    reply,
    "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n" +
      "-ERR wrong number of arguments for 'get' command\r\n" +
      "-ERR wrong number of arguments for 'set' command\r\n" +
      "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n" +
      '+PONG\r\n',
  );
});

t.test('pipelined writes and reads are answered in request order', async (t) => {
  const server = await startServer(t);
  const commands: string[] = [];
  const expected: string[] = [];
  for (let i = 0; i < 200; i++) {
    commands.push(`SET k${i % 7} v${i}`, `GET k${i % 7}`, `ECHO e${i}`);
    expected.push('+OK', `$${`v${i}`.length}\r\nv${i}`, `$${`e${i}`.length}\r\ne${i}`);
  }
  const want = expected.join('\r\n') + '\r\n';
  const reply = await rawExchange(server.port, crlf(...commands), (text) => text.length >= want.length);
  t.equal(reply, want);
});

t.test('HELLO 3 switches the connection to RESP3', async (t) => {
  const server = await startServer(t);
  const reply = await rawExchange(server.port, crlf('HELLO 3', 'GET missing', 'HELLO 2', 'GET missing'), (text) => text.endsWith('$-1\r\n'));
  t.match(reply, /^%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n\$7\r\nversion\r\n\$5\r\n7\.2\.5\r\n\$5\r\nproto\r\n:3\r\n/);
  t.ok(reply.includes('_\r\n*14\r\n'), 'null is `_` in RESP3, and HELLO 2 answers a flat array');
  t.ok(reply.endsWith('$-1\r\n'));
  const bad = await rawExchange(server.port, crlf('HELLO 4'), (text) => text.includes('\r\n'));
  t.equal(bad, '-NOPROTO unsupported protocol version\r\n');
});

t.test('requirepass gates commands until AUTH', async (t) => {
  const server = await startServer(t, { requirepass: 's3cret' });
  const reply = await rawExchange(
    server.port,
    crlf('GET a', 'AUTH wrong', 'AUTH s3cret', 'SET a 1', 'GET a'),
    (text) => text.endsWith('$1\r\n1\r\n'),
  );
  t.equal(
    reply,
    '-NOAUTH Authentication required.\r\n' +
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n' +
      '+OK\r\n+OK\r\n$1\r\n1\r\n',
  );
  // Before AUTH, a client may not send big arrays (Redis's unauthenticated limits).
  const big = await rawExchange(server.port, '*11\r\n', (text) => text.includes('\r\n'));
  t.equal(big, '-ERR Protocol error: unauthenticated multibulk length\r\n');
});

t.test('a protocol error closes only that connection', async (t) => {
  const server = await startServer(t);
  const healthy = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => healthy.once('connect', r));
  const reply = await rawExchange(server.port, '*1\r\n$abc\r\n', () => false, 3000);
  t.match(reply, /^-ERR Protocol error: /);
  const pong = await new Promise<string>((resolve) => {
    healthy.once('data', (d) => resolve(d.toString()));
    healthy.write('PING\r\n');
  });
  t.equal(pong, '+PONG\r\n', 'the other client is unharmed');
  healthy.destroy();
});

t.test('pub/sub: RESP2 subscriber mode and RESP3 push frames', async (t) => {
  const server = await startServer(t);
  const subscriber = net.connect(server.port, '127.0.0.1');
  let received = '';
  subscriber.on('data', (d) => (received += d.toString()));
  subscriber.write(crlf('SUBSCRIBE news', 'GET x'));
  await waitText(() => received, (s) => s.includes('only (P|S)SUBSCRIBE'));
  t.equal(
    received,
    '*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n' +
      "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
  );
  const count = await rawExchange(server.port, crlf('PUBLISH news hello'), (s) => s.includes('\r\n'));
  t.equal(count, ':1\r\n');
  await waitText(() => received, (s) => s.includes('hello'));
  t.ok(received.endsWith('*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n'));
  subscriber.destroy();

  const pushed = net.connect(server.port, '127.0.0.1');
  let text3 = '';
  pushed.on('data', (d) => (text3 += d.toString()));
  pushed.write(crlf('HELLO 3', 'SUBSCRIBE news', 'GET x'));
  await waitText(() => text3, (s) => s.includes('_\r\n'));
  t.ok(text3.includes('>3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n_\r\n'), 'RESP3 confirms with a push and still serves GET');
  await rawExchange(server.port, crlf('PUBLISH news again'), (s) => s.includes('\r\n'));
  await waitText(() => text3, (s) => s.includes('again'));
  t.ok(text3.endsWith('>3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nagain\r\n'));
  pushed.destroy();
});

t.test('CLIENT and INFO', async (t) => {
  const server = await startServer(t);
  const reply = await rawExchange(
    server.port,
    crlf('CLIENT SETNAME worker-7', 'CLIENT GETNAME', 'CLIENT SETINFO LIB-NAME ioredis', 'CLIENT SETNAME "a b"', 'CLIENT INFO'),
    (s) => s.includes('lib-ver='),
  );
  t.match(reply, /^\+OK\r\n\$8\r\nworker-7\r\n\+OK\r\n-ERR Client names cannot contain spaces, newlines or special characters\.\r\n/);
  t.match(reply, /name=worker-7 .*lib-name=ioredis/);
  const info = await rawExchange(server.port, crlf('INFO'), (s) => s.includes('raft_applied_index'));
  for (const field of ['redis_version:', 'connected_clients:', 'used_memory:', 'loading:0', 'role:master', 'raft_role:leader', 'raft_term:', 'raft_leader_id:n1', 'raft_commit_index:']) {
    t.ok(info.includes(field), `INFO has ${field}`);
  }
  const number = (field: string): number => Number(new RegExp(`^${field}:(\\d+)\r$`, 'm').exec(info)?.[1] ?? NaN);
  const oldCommitted = number('used_memory_vm_old_space_committed');
  const oldUsed = number('used_memory_vm_old_space_used');
  t.ok(oldUsed > 0 && oldCommitted >= oldUsed, `INFO memory shows V8's old space: ${oldUsed} of ${oldCommitted} bytes committed in use`);
  t.ok(number('used_memory_vm_new_space_committed') > 0, 'and its young generation');
});

async function waitText(get: () => string, ok: (text: string) => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok(get())) {
    if (Date.now() > deadline) throw new Error(`timed out; have ${JSON.stringify(get())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('server commands: SELECT keyspaces, COMMAND, CONFIG, TIME, ROLE, PUBSUB, TYPE, DBSIZE', async (t) => {
  const server = await startServer(t);
  const reply = await rawExchange(
    server.port,
    crlf('SET k zero', 'SELECT 1', 'GET k', 'SET k one', 'SELECT 0', 'GET k', 'SELECT 16', 'DBSIZE', 'TYPE k', 'TYPE nope'),
    (s) => s.endsWith('+none\r\n'),
  );
  t.equal(
    reply,
    '+OK\r\n+OK\r\n$-1\r\n+OK\r\n+OK\r\n$4\r\nzero\r\n-ERR DB index is out of range\r\n:1\r\n+string\r\n+none\r\n',
    'databases are separate keyspaces',
  );
  const count = await rawExchange(server.port, crlf('COMMAND COUNT'), (s) => s.includes('\r\n'));
  t.ok(Number(count.slice(1)) >= 90, `COMMAND COUNT ${count.trim()}`);
  const info = await rawExchange(server.port, crlf('COMMAND INFO get'), (s) => s.includes('readonly'));
  t.match(info, /^\*1\r\n\*10\r\n\$3\r\nget\r\n:2\r\n/, 'COMMAND INFO get: name and arity');
  const docs = await rawExchange(server.port, crlf('COMMAND DOCS lock'), (s) => s.includes('group'));
  t.match(docs, /lock[\s\S]*summary[\s\S]*since[\s\S]*group/, 'COMMAND DOCS has summary, since, group');
  const config = await rawExchange(server.port, crlf('CONFIG GET appendonly', 'CONFIG GET proto-max-bulk-len', 'CONFIG SET nosuch 1'), (s) => s.includes('-ERR'));
  t.equal(
    config,
    '*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n*2\r\n$18\r\nproto-max-bulk-len\r\n$9\r\n536870912\r\n' +
      "-ERR CONFIG SET failed (possibly related to argument 'nosuch') - Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n",
  );
  const time = await rawExchange(server.port, crlf('TIME'), (s) => s.split('\r\n').length >= 5);
  const seconds = Number(time.split('\r\n')[2]);
  t.ok(Math.abs(seconds - Date.now() / 1000) < 5, 'TIME is the server clock');
  const role = await rawExchange(server.port, crlf('ROLE'), (s) => s.includes('master'));
  t.match(role, /^\*3\r\n\$6\r\nmaster\r\n:\d+\r\n\*0\r\n/);
  const numsub = await rawExchange(server.port, crlf('PUBSUB NUMSUB a b'), (s) => s.includes('b') && s.endsWith(':0\r\n'));
  t.equal(numsub, '*4\r\n$1\r\na\r\n:0\r\n$1\r\nb\r\n:0\r\n');
});
