// Server introspection: INFO, CONFIG, COMMAND, TIME, ROLE.
//
// INFO is load-bearing: ioredis and node-redis v3 run it as their ready check and treat an error
// as fatal, reading `loading:0`. The `raft` section is the operator's view of consensus.

import * as v8 from 'node:v8';
import { ErrorReply, Errors, MapReply, OK, SetReply, SimpleString, VerbatimReply, type Reply } from '../../resp/reply';
import { keyIndexes, type CommandDef, type CommandSpec } from '../../locks/command_spec';
import { globMatch } from '../../locks/glob';
import type { CommandContext, ServerHandler, TableEntry } from '../command_table';
import type { ServerApi } from '../server_api';
import { container, define } from './define';
import { REDIS_COMPAT_VERSION } from './connection';

const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'keyspace', 'raft'];

export function infoText(server: ServerApi, requested: string[]): string {
  const wanted = new Set(requested.map((s) => s.toLowerCase()));
  const all = wanted.has('all') || wanted.has('everything');
  const sections = wanted.size === 0 || wanted.has('default') || all ? DEFAULT_SECTIONS : [...wanted];
  const parts: string[] = [];
  for (const section of sections) {
    const body = infoSection(server, section);
    if (body !== null) parts.push(body);
  }
  return parts.join('\r\n');
}

function lines(title: string, fields: Array<[string, string | number]>): string {
  return `# ${title}\r\n` + fields.map(([k, v]) => `${k}:${v}\r\n`).join('');
}

function infoSection(server: ServerApi, section: string): string | null {
  const status = server.node.status();
  const uptimeS = Math.floor((Date.now() - server.startedAtMs) / 1000);
  switch (section) {
    case 'server':
      return lines('Server', [
        ['redis_version', REDIS_COMPAT_VERSION],
        ['quorumlock_version', '0.1.0'],
        ['redis_mode', 'standalone'],
        ['os', `${process.platform} ${process.arch}`],
        ['arch_bits', 64],
        ['process_id', process.pid],
        ['run_id', server.config.nodeId],
        ['tcp_port', server.config.port],
        ['uptime_in_seconds', uptimeS],
        ['uptime_in_days', Math.floor(uptimeS / 86400)],
        ['executable', process.argv[1] ?? ''],
        ['node_version', process.version],
      ]);
    case 'clients': {
      let clients = 0;
      let pubsub = 0;
      for (const c of server.clients()) {
        clients++;
        if (c.subscriptionCount > 0) pubsub++;
      }
      return lines('Clients', [
        ['connected_clients', clients],
        ['pubsub_clients', pubsub],
        ['maxclients', server.config.maxClients],
        ['blocked_clients', 0],
      ]);
    }
    case 'memory': {
      const mem = process.memoryUsage();
      return lines('Memory', [
        ['used_memory', mem.heapUsed + mem.external],
        ['used_memory_human', `${((mem.heapUsed + mem.external) / 1048576).toFixed(2)}M`],
        ['used_memory_rss', mem.rss],
        ['used_memory_rss_human', `${(mem.rss / 1048576).toFixed(2)}M`],
        ['used_memory_peak', mem.rss],
        // Where RSS goes beyond the live heap: V8's committed heap, and memory outside it (Buffers, LevelDB).
        ['used_memory_vm_heap_used', mem.heapUsed],
        ['used_memory_vm_heap_total', mem.heapTotal],
        ['used_memory_vm_external', mem.external],
        ['used_memory_vm_array_buffers', mem.arrayBuffers],
        // Per V8 heap space, committed and used: old_space holds the keyspace; new_space is the
        // young generation, sized by the allocation rate.
        ...v8.getHeapSpaceStatistics().flatMap((space): Array<[string, number]> => [
          [`used_memory_vm_${space.space_name}_committed`, space.space_size],
          [`used_memory_vm_${space.space_name}_used`, space.space_used_size],
        ]),
        ['maxmemory', 0],
        ['maxmemory_policy', 'noeviction'],
      ]);
    }
    case 'persistence':
      return lines('Persistence', [
        ['loading', 0],
        ['async_loading', 0],
        ['rdb_changes_since_last_save', 0],
        ['aof_enabled', 0],
        ['raft_log_fsync', status.logFsync ? 'always' : 'no'],
        ['raft_fsync_count', status.fsyncCount],
        ['raft_fsync_avg_usec', status.fsyncAvgMicros],
      ]);
    case 'cpu': {
      // Redis's CPU section: seconds of CPU this process has used (the benchmarks divide by writes).
      const usage = process.cpuUsage();
      return lines('CPU', [
        ['used_cpu_sys', (usage.system / 1e6).toFixed(6)],
        ['used_cpu_user', (usage.user / 1e6).toFixed(6)],
      ]);
    }
    case 'stats':
      return lines('Stats', [
        ['total_connections_received', server.stats.connectionsReceived],
        ['total_commands_processed', server.stats.commandsProcessed],
        ['rejected_connections', server.stats.rejectedConnections],
        ['pubsub_channels', server.pubsub.channelNames(null).length],
        ['pubsub_patterns', server.pubsub.patternCount()],
        ['total_error_replies', 0],
      ]);
    case 'replication': {
      const isLeader = status.role === 'leader';
      const fields: Array<[string, string | number]> = [['role', isLeader ? 'master' : 'slave']];
      if (isLeader) {
        fields.push(['connected_slaves', Math.max(0, status.voters.length + status.learners.length - 1)]);
      } else {
        fields.push(['master_host', ''], ['master_link_status', status.leaderId === '' ? 'down' : 'up']);
      }
      fields.push(['master_repl_offset', status.appliedIndex]);
      return lines('Replication', fields);
    }
    case 'keyspace': {
      const stats = server.node.keyspaceStats();
      const fields: Array<[string, string | number]> = [];
      stats.keysPerDb.forEach((keys, db) => {
        if (keys > 0) fields.push([`db${db}`, `keys=${keys},expires=${stats.expiresPerDb[db] ?? 0},avg_ttl=0`]);
      });
      return lines('Keyspace', fields);
    }
    case 'raft':
      return lines('Raft', [
        ['raft_node_id', status.nodeId],
        ['raft_cluster_id', status.clusterId],
        ['raft_role', status.role === 'precandidate' ? 'candidate' : status.role],
        ['raft_term', status.term],
        ['raft_leader_id', status.leaderId],
        ['raft_commit_index', status.commitIndex],
        ['raft_applied_index', status.appliedIndex],
        ['raft_last_log_index', status.lastLogIndex],
        ['raft_snapshot_index', status.snapshotIndex],
        ['raft_voters', status.voters.join(',')],
        ['raft_learners', status.learners.join(',')],
        ['raft_proposals_pending', status.proposalsPending],
        ['raft_fsync_count', status.fsyncCount],
        ['raft_fsync_avg_usec', status.fsyncAvgMicros],
        ['raft_fsync_max_usec', status.fsyncMaxMicros],
        ['raft_fsync_on_event_loop', status.blockingWrites],
        ['raft_entries_persisted', status.entriesPersisted],
        ['raft_entries_per_fsync', ratio(status.entriesPersisted, status.fsyncCount)],
        ['raft_append_messages_sent', status.appendMessagesSent],
        ['raft_entries_in_appends', status.entriesInAppends],
        ['raft_entries_per_append', ratio(status.entriesInAppends, status.appendMessagesSent)],
        ['raft_writes_applied', status.writesApplied],
        ['raft_write_latency_avg_usec', status.writeLatencyAvgMicros],
      ]);
    default:
      return null;
  }
}

function info({ server, client }: CommandContext, argv: string[]): Reply {
  const body = infoText(server, argv.slice(1));
  return client.protocol === 3 ? new VerbatimReply('txt', body) : body;
}

/** CONFIG GET/SET: each setting by its Redis name. */
const configNames: Record<string, (server: ServerApi) => string> = {
  port: (s) => String(s.config.port),
  bind: (s) => s.config.host,
  dir: (s) => s.config.dataDir,
  databases: (s) => String(s.config.databases),
  requirepass: (s) => s.config.requirepass,
  'proto-max-bulk-len': (s) => String(s.config.protoMaxBulkLen),
  'proto-inline-max-size': (s) => String(s.config.protoInlineMaxBytes),
  'proto-max-multibulk-len': (s) => String(s.config.protoMaxMultibulkLen),
  maxclients: (s) => String(s.config.maxClients),
  'follower-mode': (s) => s.config.followerMode,
  'raft-tick-ms': (s) => String(s.config.tickMs),
  'raft-election-ticks': (s) => String(s.config.electionTicks),
  'raft-snapshot-entries': (s) => String(s.config.snapshotEntries),
  'raft-snapshot-entries-min': (s) => String(s.config.snapshotEntriesMin),
  save: () => '',
  appendonly: () => 'no',
  appendfsync: (s) => (s.node.status().logFsync ? 'always' : 'no'),
  'maxmemory-policy': () => 'noeviction',
  maxmemory: () => '0',
};

function configGet({ server }: CommandContext, argv: string[]): Reply {
  const seen = new Map<string, string>();
  for (const pattern of argv.slice(2)) {
    for (const name of Object.keys(configNames)) {
      if (globMatch(pattern.toLowerCase(), name) && !seen.has(name)) seen.set(name, configNames[name](server));
    }
  }
  return new MapReply([...seen.entries()]);
}

function configSet({ server }: CommandContext, argv: string[]): Reply {
  if (argv.length % 2 !== 0) return Errors.wrongArity('config|set');
  for (let i = 2; i < argv.length; i += 2) {
    const failure = server.setConfig(argv[i].toLowerCase(), argv[i + 1]);
    if (failure !== null) return new ErrorReply(`ERR CONFIG SET failed (possibly related to argument '${argv[i]}') - ${failure}`);
  }
  return OK;
}

function flagsOf(spec: CommandSpec): Reply {
  return new SetReply(spec.flags.map((flag) => new SimpleString(flag)));
}

/** COMMAND INFO shape: name, arity, flags, first key, last key, step, acl categories, tips, key specs, subcommands. */
function commandInfo(entry: TableEntry): Reply {
  const spec = entry.spec;
  const subcommands: Reply[] = [];
  if (entry.subcommands) for (const sub of entry.subcommands.values()) subcommands.push(commandInfo(sub));
  return [spec.name, spec.arity, flagsOf(spec), spec.firstKey, spec.lastKey, spec.keyStep, new SetReply([]), new SetReply([]), [], subcommands];
}

function commandDocs(entry: TableEntry): Reply {
  const spec = entry.spec;
  const fields: Array<[Reply, Reply]> = [
    ['summary', spec.summary],
    ['since', '1.0.0'],
    ['group', spec.group],
  ];
  if (entry.subcommands) {
    const subs: Array<[Reply, Reply]> = [];
    for (const sub of entry.subcommands.values()) subs.push([sub.spec.name, commandDocs(sub)]);
    fields.push(['subcommands', new MapReply(subs)]);
  }
  return new MapReply(fields);
}

function lookup(server: ServerApi, name: string): TableEntry | undefined {
  const lower = name.toLowerCase();
  const bar = lower.indexOf('|');
  if (bar === -1) return server.commands.get(lower);
  return server.commands.get(lower.slice(0, bar))?.subcommands?.get(lower.slice(bar + 1));
}

function command({ server }: CommandContext): Reply {
  return [...server.commands.all()].map(commandInfo);
}

function commandSub(ctx: CommandContext, argv: string[]): Reply {
  const { server } = ctx;
  switch (argv[1].toLowerCase()) {
    case 'count':
      return server.commands.size;
    case 'info': {
      if (argv.length === 2) return command(ctx);
      return argv.slice(2).map((name) => {
        const entry = lookup(server, name);
        return entry ? commandInfo(entry) : null;
      });
    }
    case 'docs': {
      const entries = argv.length === 2 ? [...server.commands.all()] : (argv.slice(2).map((n) => lookup(server, n)).filter(Boolean) as TableEntry[]);
      return new MapReply(entries.map((entry) => [entry.spec.name, commandDocs(entry)]));
    }
    case 'list': {
      let names = [...server.commands.all()].map((e) => e.spec.name);
      if (argv.length === 5 && argv[2].toLowerCase() === 'filterby' && argv[3].toLowerCase() === 'pattern') {
        names = names.filter((n) => globMatch(argv[4], n));
      } else if (argv.length !== 2) {
        return Errors.syntax;
      }
      return names;
    }
    case 'getkeys': {
      const entry = lookup(server, argv[2]);
      if (!entry) return new ErrorReply('ERR Invalid command specified');
      const target = argv.slice(2);
      const keys = keyIndexes(entry.spec, target.length).map((i) => target[i]);
      if (keys.length === 0) return new ErrorReply('ERR The command has no key arguments');
      return keys;
    }
    default:
      return Errors.syntax;
  }
}

function time(): Reply {
  const nowMs = Date.now();
  const micros = Number(process.hrtime.bigint() / 1000n % 1000n);
  return [String(Math.floor(nowMs / 1000)), String((nowMs % 1000) * 1000 + micros)];
}

function role({ server }: CommandContext): Reply {
  const status = server.node.status();
  if (status.role === 'leader') return ['master', status.appliedIndex, []];
  return ['slave', '', 0, status.leaderId === '' ? 'connect' : 'connected', status.appliedIndex];
}

export const serverInfoCommands: ReadonlyArray<CommandDef<ServerHandler>> = [
  define('info', -1, ['loading', 'stale'], 'Returns information and statistics about the server.', info),
  container('config', 'A container for server configuration commands.', 'server', [
    define('config|get', -3, ['admin', 'noscript', 'loading', 'stale'], 'Returns the effective values of configuration parameters.', configGet),
    define('config|set', -4, ['admin', 'noscript', 'loading', 'stale'], 'Sets configuration parameters in-flight.', configSet),
    define('config|resetstat', 2, ['admin', 'noscript', 'loading', 'stale'], 'Resets the server\'s statistics.', ({ server }) => {
      server.stats.commandsProcessed = 0;
      server.stats.connectionsReceived = 0;
      return OK;
    }),
  ]),
  define('command', -1, ['loading', 'stale'], 'Returns detailed information about all commands.', (ctx, argv) =>
    argv.length === 1 ? command(ctx) : commandSub(ctx, argv),
  ),
  define('time', 1, ['loading', 'stale', 'fast'], 'Returns the server time.', time),
  define('role', 1, ['noscript', 'loading', 'stale', 'fast'], 'Returns the replication role.', role),
];

/** a / b with two decimals, 0 when b is 0 (INFO prints it as a plain number). */
function ratio(a: number, b: number): string {
  return b === 0 ? '0' : (a / b).toFixed(2);
}
