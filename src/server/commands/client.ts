// CLIENT subcommands: naming, library info (sent by ioredis and node-redis on every connect),
// listing and killing connections.

import { ErrorReply, Errors, OK, VerbatimReply, type Reply } from '../../resp/reply';
import type { Client } from '../client';
import type { CommandContext, ServerHandler } from '../command_table';
import type { CommandDef } from '../../locks/command_spec';
import { container, define } from './define';
import { validateClientName } from './connection';

/** One line of CLIENT LIST / CLIENT INFO, in Redis's field order. */
export function clientLine(client: Client, nowMs: number): string {
  const flags = client.subscriptionCount > 0 ? 'P' : 'N';
  return (
    `id=${client.id} addr=${client.address} laddr=${client.localAddress} fd=-1 name=${client.name} ` +
    `age=${Math.floor((nowMs - client.createdAtMs) / 1000)} idle=${Math.floor((nowMs - client.lastActiveMs) / 1000)} ` +
    `flags=${flags} db=${client.db} sub=${client.subscriptions.size} psub=${client.patterns.size} ssub=0 multi=-1 ` +
    `qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=${client.outputBytes} tot-mem=0 ` +
    `events=r cmd=${client.lastCommand.toLowerCase()} user=default redir=-1 resp=${client.protocol} ` +
    `lib-name=${client.libName} lib-ver=${client.libVersion}`
  );
}

function text(client: Client, body: string): Reply {
  return client.protocol === 3 ? new VerbatimReply('txt', body) : body;
}

function setname({ client }: CommandContext, argv: string[]): Reply {
  const invalid = validateClientName(argv[2]);
  if (invalid) return invalid;
  client.name = argv[2];
  return OK;
}

function setinfo({ client }: CommandContext, argv: string[]): Reply {
  const attribute = argv[2].toLowerCase();
  const value = argv[3];
  if (attribute !== 'lib-name' && attribute !== 'lib-ver') {
    return new ErrorReply(`ERR Unrecognized option '${argv[2]}'`);
  }
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 33 || code > 126) {
      return new ErrorReply(`ERR ${attribute} cannot contain spaces, newlines or special characters.`);
    }
  }
  if (attribute === 'lib-name') client.libName = value;
  else client.libVersion = value;
  return OK;
}

function list({ client, server }: CommandContext, argv: string[]): Reply {
  let filter: (c: Client) => boolean = () => true;
  if (argv.length > 2) {
    const option = argv[2].toLowerCase();
    if (option === 'type' && argv.length === 4) {
      const type = argv[3].toLowerCase();
      if (!['normal', 'master', 'replica', 'slave', 'pubsub'].includes(type)) {
        return new ErrorReply(`ERR Unknown client type '${argv[3]}'`);
      }
      filter = (c) => (type === 'pubsub' ? c.subscriptionCount > 0 : type === 'normal' ? c.subscriptionCount === 0 : false);
    } else if (option === 'id' && argv.length >= 4) {
      const ids = new Set<number>();
      for (const raw of argv.slice(3)) {
        if (!/^\d+$/.test(raw)) return new ErrorReply('ERR Invalid client ID');
        ids.add(Number(raw));
      }
      filter = (c) => ids.has(c.id);
    } else {
      return Errors.syntax;
    }
  }
  const now = Date.now();
  let body = '';
  for (const c of server.clients()) if (filter(c)) body += clientLine(c, now) + '\n';
  return text(client, body);
}

function kill(ctx: CommandContext, argv: string[]): Reply {
  const { server, client: self } = ctx;
  // Old form: CLIENT KILL addr:port -> OK or an error.
  if (argv.length === 3) {
    for (const c of server.clients()) {
      if (c.address === argv[2]) {
        server.killClient(c);
        return OK;
      }
    }
    return new ErrorReply('ERR No such client');
  }
  if ((argv.length - 2) % 2 !== 0) return Errors.syntax;
  const tests: Array<(c: Client) => boolean> = [];
  let skipMe = true;
  for (let i = 2; i < argv.length; i += 2) {
    const option = argv[i].toLowerCase();
    const value = argv[i + 1];
    switch (option) {
      case 'id': {
        if (!/^\d+$/.test(value)) return new ErrorReply('ERR client-id should be greater than 0');
        const id = Number(value);
        tests.push((c) => c.id === id);
        break;
      }
      case 'addr':
        tests.push((c) => c.address === value);
        break;
      case 'laddr':
        tests.push((c) => c.localAddress === value);
        break;
      case 'user':
        tests.push(() => value === 'default');
        break;
      case 'type': {
        const type = value.toLowerCase();
        if (!['normal', 'master', 'replica', 'slave', 'pubsub'].includes(type)) {
          return new ErrorReply(`ERR Unknown client type '${value}'`);
        }
        tests.push((c) => (type === 'pubsub' ? c.subscriptionCount > 0 : type === 'normal'));
        break;
      }
      case 'skipme':
        if (value.toLowerCase() === 'yes') skipMe = true;
        else if (value.toLowerCase() === 'no') skipMe = false;
        else return Errors.syntax;
        break;
      case 'maxage': {
        if (!/^\d+$/.test(value)) return Errors.notInteger;
        const maxAgeMs = Number(value) * 1000;
        tests.push((c) => Date.now() - c.createdAtMs >= maxAgeMs);
        break;
      }
      default:
        return Errors.syntax;
    }
  }
  let killed = 0;
  for (const c of [...server.clients()]) {
    if (skipMe && c === self) continue;
    if (tests.every((test) => test(c))) {
      server.killClient(c);
      killed++;
    }
  }
  return killed;
}

function onOff(_ctx: CommandContext, argv: string[]): Reply {
  const value = argv[2].toLowerCase();
  return value === 'on' || value === 'off' ? OK : Errors.syntax;
}

const help: ServerHandler = () => [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port> | KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections by address, ID, LADDR, TYPE, USER, SKIPME or MAXAGE.',
  'LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]',
  '    Return information about client connections.',
  'SETINFO <LIB-NAME|LIB-VER> <value>',
  '    Set client library name or version.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'NO-EVICT (ON|OFF)',
  'NO-TOUCH (ON|OFF)',
  '    Accepted for compatibility; quorumlock never evicts keys.',
  'HELP',
  '    Print this help.',
];

export const clientCommands: ReadonlyArray<CommandDef<ServerHandler>> = [
  container('client', 'A container for client connection commands.', 'connection', [
    define('client|setname', 3, ['noscript', 'loading', 'stale'], 'Sets the connection name.', setname),
    define('client|getname', 2, ['noscript', 'loading', 'stale'], 'Returns the name of the connection.', ({ client }) =>
      client.name === '' ? null : client.name,
    ),
    define('client|id', 2, ['noscript', 'loading', 'stale'], 'Returns the unique client ID of the connection.', ({ client }) => client.id),
    define('client|setinfo', 4, ['noscript', 'loading', 'stale'], 'Sets information specific to the client or connection.', setinfo),
    define('client|info', 2, ['noscript', 'loading', 'stale'], 'Returns information about the connection.', ({ client }) =>
      text(client, clientLine(client, Date.now()) + '\n'),
    ),
    define('client|list', -2, ['admin', 'noscript', 'loading', 'stale'], 'Lists open connections.', list),
    define('client|kill', -3, ['admin', 'noscript', 'loading', 'stale'], 'Terminates open connections.', kill),
    define('client|no-evict', 3, ['admin', 'noscript', 'loading', 'stale'], 'Accepted; quorumlock never evicts.', onOff),
    define('client|no-touch', 3, ['noscript', 'loading', 'stale'], 'Accepted; quorumlock keeps no LRU.', onOff),
    define('client|help', 2, ['loading', 'stale'], 'Returns helpful text about the different subcommands.', help),
  ]),
];
