// Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, READONLY, READWRITE.
//
// HELLO matters more than it looks: ioredis 6 and node-redis 6 open every connection with
// `HELLO 3` (node-redis has no fallback), so the protocol switch and the map reply must be exact.

import { timingSafeEqual } from 'node:crypto';
import { ErrorReply, Errors, MapReply, OK, PONG, SimpleString, type Reply } from '../../resp/reply';
import type { CommandContext, ServerHandler } from '../command_table';
import { define } from './define';
import type { CommandDef } from '../../locks/command_spec';

export const REDIS_COMPAT_VERSION = '7.2.5';

const wrongPass = new ErrorReply('WRONGPASS invalid username-password pair or user is disabled.');

/** Checks a username/password pair against requirepass ('default' is the only user). */
export function checkPassword(ctx: CommandContext, username: string, password: string): ErrorReply | null {
  const expected = ctx.server.config.requirepass;
  if (username.toLowerCase() !== 'default') return wrongPass;
  const a = Buffer.from(password, 'latin1');
  const b = Buffer.from(expected, 'latin1');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return wrongPass;
  return null;
}

function ping({ client }: CommandContext, argv: string[]): Reply {
  if (argv.length > 2) return Errors.wrongArity('ping');
  if (client.inSubscriberMode) return ['pong', argv.length === 2 ? argv[1] : ''];
  return argv.length === 2 ? argv[1] : PONG;
}

function hello(ctx: CommandContext, argv: string[]): Reply {
  const { client, server } = ctx;
  let protocol = client.protocol;
  let i = 1;
  if (argv.length >= 2) {
    const version = Number(argv[1]);
    if (!/^-?\d+$/.test(argv[1])) return new ErrorReply('ERR Protocol version is not an integer or out of range');
    if (version !== 2 && version !== 3) return new ErrorReply('NOPROTO unsupported protocol version');
    protocol = version;
    i = 2;
  }
  let authPair: [string, string] | null = null;
  let setName: string | null = null;
  for (; i < argv.length; i++) {
    const option = argv[i].toLowerCase();
    const remaining = argv.length - i - 1;
    if (option === 'auth' && remaining >= 2) {
      authPair = [argv[i + 1], argv[i + 2]];
      i += 2;
    } else if (option === 'setname' && remaining >= 1) {
      setName = argv[i + 1];
      i += 1;
    } else {
      return new ErrorReply(`ERR Syntax error in HELLO option '${argv[i]}'`);
    }
  }
  if (authPair !== null) {
    if (server.config.requirepass === '') {
      return new ErrorReply(
        'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
      );
    }
    const failure = checkPassword(ctx, authPair[0], authPair[1]);
    if (failure) return failure;
    client.setAuthenticated(true);
  }
  if (!client.authenticated) {
    return new ErrorReply(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  }
  if (setName !== null) {
    const invalid = validateClientName(setName);
    if (invalid) return invalid;
    client.name = setName;
  }
  client.protocol = protocol;
  const status = server.node.status();
  return new MapReply([
    ['server', 'redis'],
    ['version', REDIS_COMPAT_VERSION],
    ['proto', protocol],
    ['id', client.id],
    ['mode', 'standalone'],
    ['role', status.role === 'leader' ? 'master' : 'replica'],
    ['modules', []],
  ]);
}

export function validateClientName(name: string): ErrorReply | null {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 33 || code > 126) {
      return new ErrorReply('ERR Client names cannot contain spaces, newlines or special characters.');
    }
  }
  return null;
}

function auth(ctx: CommandContext, argv: string[]): Reply {
  if (argv.length > 3) return Errors.syntax;
  if (ctx.server.config.requirepass === '') {
    if (argv.length === 2) {
      return new ErrorReply(
        'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
      );
    }
  }
  const [username, password] = argv.length === 3 ? [argv[1], argv[2]] : ['default', argv[1]];
  const failure = checkPassword(ctx, username, password);
  if (failure) return failure;
  ctx.client.setAuthenticated(true);
  return OK;
}

function select({ client, server }: CommandContext, argv: string[]): Reply {
  if (!/^-?\d+$/.test(argv[1])) return Errors.notInteger;
  const db = Number(argv[1]);
  if (db < 0 || db >= server.config.databases) return Errors.dbIndexOutOfRange;
  client.db = db;
  return OK;
}

function quit({ client }: CommandContext): Reply {
  client.closeAfterReplies();
  return OK;
}

function reset({ client, server }: CommandContext): Reply {
  server.pubsub.removeClient(client);
  client.protocol = 2;
  client.db = 0;
  client.name = '';
  client.staleReads = false;
  if (server.config.requirepass !== '') client.setAuthenticated(false);
  return new SimpleString('RESET');
}

/**
 * READONLY alone changes nothing: reads on a follower are linearizable already (ReadIndex), and
 * ioredis in Cluster mode sends READONLY to every replica connection unasked, then routes reads
 * there when the master's connection is gone: that must not make them stale. `READONLY STALE`
 * is the explicit opt-in to faster local reads that may be stale.
 */
function readonly({ client }: CommandContext, argv: string[]): Reply {
  if (argv.length === 1) return OK;
  if (argv.length === 2 && argv[1].toLowerCase() === 'stale') {
    client.staleReads = true;
    return OK;
  }
  return Errors.syntax;
}

function readwrite({ client }: CommandContext): Reply {
  client.staleReads = false;
  return OK;
}

export const connectionCommands: ReadonlyArray<CommandDef<ServerHandler>> = [
  define('ping', -1, ['fast', 'stale', 'loading'], 'Returns the server\'s liveliness response.', ping, { group: 'connection' }),
  define('echo', 2, ['fast', 'stale', 'loading'], 'Returns the given string.', (_ctx, argv) => argv[1], { group: 'connection' }),
  define('hello', -1, ['noauth', 'fast', 'stale', 'loading'], 'Handshakes with the Redis server.', hello, { group: 'connection' }),
  define('auth', -2, ['noauth', 'fast', 'stale', 'loading'], 'Authenticates the connection.', auth, { group: 'connection' }),
  define('select', 2, ['fast', 'stale', 'loading'], 'Changes the selected database.', select, { group: 'connection' }),
  define('quit', -1, ['noauth', 'fast', 'stale', 'loading'], 'Closes the connection.', quit, { group: 'connection' }),
  define('reset', 1, ['noauth', 'fast', 'stale', 'loading'], 'Resets the connection.', reset, { group: 'connection' }),
  define('readonly', -1, ['fast', 'stale', 'loading'], 'Accepted (follower reads are linearizable); READONLY STALE allows local reads that may be stale.', readonly, {
    group: 'cluster',
  }),
  define('readwrite', 1, ['fast', 'stale', 'loading'], 'Makes reads linearizable again (the default).', readwrite, { group: 'cluster' }),
];
