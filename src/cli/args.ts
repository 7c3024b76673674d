// Command-line flags and config files -> ServerConfig. No logic beyond parsing and validation.
//
// The flags are a contract operators' scripts rely on: --host --port --data-dir --node-id
// --raft-port --peers --requirepass --config. Add new ones freely; never rename these.

import * as fs from 'node:fs';
import { defaultConfig, type PeerAddress, type ServerConfig } from '../server/config';

export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** Flag name -> how it sets the config. Also used for config files (same names, without the dashes). */
const setters: Record<string, (config: ServerConfig, value: string) => void> = {
  host: (c, v) => (c.host = v),
  bind: (c, v) => (c.host = v),
  port: (c, v) => (c.port = parsePort(v, 'port')),
  'data-dir': (c, v) => (c.dataDir = v),
  dir: (c, v) => (c.dataDir = v),
  'node-id': (c, v) => (c.nodeId = parseNodeId(v)),
  'raft-host': (c, v) => (c.raftHost = v),
  'raft-port': (c, v) => (c.raftPort = parsePort(v, 'raft-port')),
  peers: (c, v) => (c.peers = parsePeers(v)),
  requirepass: (c, v) => (c.requirepass = v),
  'cluster-id': (c, v) => {
    if (!/^[\x21-\x7e]{1,200}$/.test(v)) throw new UsageError(`--cluster-id must be 1-200 printable characters`);
    c.clusterId = v;
  },
  'follower-mode': (c, v) => {
    if (v !== 'proxy' && v !== 'redirect') throw new UsageError(`--follower-mode must be 'proxy' or 'redirect', got '${v}'`);
    c.followerMode = v;
  },
  databases: (c, v) => (c.databases = parseInteger(v, 'databases', 1, 1024)),
  'proto-max-bulk-len': (c, v) => (c.protoMaxBulkLen = parseInteger(v, 'proto-max-bulk-len', 1024, 512 * 1024 * 1024)),
  'proto-inline-max-size': (c, v) => (c.protoInlineMaxBytes = parseInteger(v, 'proto-inline-max-size', 1024, 64 * 1024 * 1024)),
  'proto-max-multibulk-len': (c, v) => (c.protoMaxMultibulkLen = parseInteger(v, 'proto-max-multibulk-len', 16, 2 ** 31 - 1)),
  maxclients: (c, v) => (c.maxClients = parseInteger(v, 'maxclients', 1, 1_000_000)),
  'tick-ms': (c, v) => (c.tickMs = parseInteger(v, 'tick-ms', 1, 10_000)),
  'election-ticks': (c, v) => (c.electionTicks = parseInteger(v, 'election-ticks', 2, 1000)),
  'snapshot-entries': (c, v) => (c.snapshotEntries = parseInteger(v, 'snapshot-entries', 100, 100_000_000)),
  'snapshot-entries-min': (c, v) => (c.snapshotEntriesMin = parseInteger(v, 'snapshot-entries-min', 100, 100_000_000)),
  'commit-broadcast-delay-ms': (c, v) => (c.commitBroadcastDelayMs = parseInteger(v, 'commit-broadcast-delay-ms', 0, 1000)),
  'fast-failover-ms': (c, v) => (c.fastFailoverMs = parseInteger(v, 'fast-failover-ms', 0, 60_000)),
  'test-clock-offset-ms': (c, v) => (c.testClockOffsetMs = parseInteger(v, 'test-clock-offset-ms', -86_400_000, 86_400_000)),
  'log-level': (c, v) => {
    if (!['debug', 'info', 'warn', 'error'].includes(v)) throw new UsageError(`--log-level must be debug|info|warn|error, got '${v}'`);
    c.logLevel = v as ServerConfig['logLevel'];
  },
};

export const USAGE = `quorumlock: a Raft-replicated lock server that speaks the Redis protocol

Usage:
  quorumlock serve [options]      run a node (a single-node cluster when --peers is not given)
  quorumlock cluster --nodes 3 [--port 7001] [--data-dir ./data/cluster]
                                  a local development cluster: client ports 7001..7003
  quorumlock --help | --version

Options for serve:
  --host 127.0.0.1              address to listen on for clients
  --port 6379                   client port (RESP2/RESP3)
  --data-dir ./data             where the Raft log, hard state and snapshots live
  --node-id n1                  this node's id (letters, digits, '-', '_')
  --raft-port 16379             port for Raft traffic between nodes
  --raft-host 127.0.0.1         address to listen on for Raft traffic
  --peers n1=host:port,...      the initial cluster: every member's id and Raft address
  --requirepass SECRET          require AUTH (or HELLO AUTH) before other commands
  --join                        join an existing cluster (list its members in --peers), then
                                on the leader: RAFT.ADDNODE <node-id> <raft-host:port>
  --cluster-id ID               the cluster's id (INFO raft shows it); default: derived from --peers
  --follower-mode proxy         proxy: followers forward commands to the leader; redirect: -MOVED
  --config FILE                 read options from a file: 'name value' lines (redis.conf style) or JSON
  --databases 16                number of databases for SELECT
  --proto-max-bulk-len N        largest bulk string accepted (default 512mb)
  --tick-ms 100, --election-ticks 10   Raft timing (election timeout = tick-ms * election-ticks)
  --commit-broadcast-delay-ms 2 how long an idle leader waits before telling followers of a commit
                                that no append carried (0: at once, as etcd)
  --fast-failover-ms 100        followers that find their leader's Raft port closed (the process
                                is gone) campaign in turn within this many ms instead of waiting
                                out the election timeout; so do nodes that start with no leader
                                once a quorum of voters is connected (0: off)
  --snapshot-entries 100000     snapshot the state and compact the log after this many entries...
  --snapshot-entries-min 10000  ...or after this many, once they hold more bytes than the last snapshot
  --log-level info              debug | info | warn | error (JSON lines on stderr)

Test-only (the fault-injection suite; never in production):
  --test-clock-offset-ms N      skew this node's clock by N ms
  --test-unsafe-local-reads     a deliberate bug: serve reads from local state on any node
  --test-unsafe-no-fsync        write the Raft log without fsync (etcd's --unsafe-no-fsync): a power
                                loss or kernel crash can lose acknowledged writes; for measuring
                                what the disk costs
`;

export interface ParsedCommand {
  readonly command: 'serve' | 'help' | 'version';
  readonly config: ServerConfig;
}

export function parseArgs(argv: string[]): ParsedCommand {
  const config = defaultConfig();
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') return { command: 'help', config };
  if (argv[0] === '--version' || argv[0] === '-v') return { command: 'version', config };
  const [command, ...rest] = argv;
  if (command !== 'serve') throw new UsageError(`unknown command '${command}'; run 'quorumlock --help'`);
  // A config file is read first, so flags given on the command line win over it.
  const configIndex = rest.indexOf('--config');
  if (configIndex !== -1) {
    const file = rest[configIndex + 1];
    if (file === undefined) throw new UsageError('--config needs a file name');
    applyConfigFile(config, file);
  }
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--help' || arg === '-h') return { command: 'help', config };
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'; options start with --`);
    if (arg === '--join') {
      config.join = true; // a flag: takes no value
      continue;
    }
    if (arg === '--test-unsafe-local-reads') {
      config.testUnsafeLocalReads = true; // test-only deliberate bug, a flag
      continue;
    }
    if (arg === '--test-unsafe-no-fsync') {
      config.testUnsafeNoFsync = true; // test-only, unsafe for data, a flag
      continue;
    }
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq !== -1) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      value = rest[++i];
    }
    if (name === 'config') continue;

    const setter = setters[name];
    if (!setter) throw new UsageError(`unknown option --${name}; run 'quorumlock --help'`);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    setter(config, value);
  }
  validate(config);
  return { command: 'serve', config };
}

function applyConfigFile(config: ServerConfig, file: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  const entries: Array<[string, string]> = [];
  if (text.trimStart().startsWith('{')) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
    }
    for (const [key, value] of Object.entries(json)) entries.push([key, String(value)]);
  } else {
    for (const rawLine of text.split('\n')) {
      const line = rawLine.trim();
      if (line === '' || line.startsWith('#')) continue;
      const space = line.search(/\s/);
      if (space === -1) throw new UsageError(`config file ${file}: '${line}' has no value`);
      entries.push([line.slice(0, space), line.slice(space).trim().replace(/^"(.*)"$/, '$1')]);
    }
  }
  for (const [key, value] of entries) {
    const setter = setters[key];
    if (!setter) throw new UsageError(`config file ${file}: unknown setting '${key}'`);
    setter(config, value);
  }
}

function parseInteger(value: string, name: string, min: number, max: number): number {
  if (!(min < 0 ? /^-?\d+$/ : /^\d+$/).test(value)) throw new UsageError(`--${name} must be an integer, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function parsePort(value: string, name: string): number {
  return parseInteger(value, name, 0, 65535);
}

function parseNodeId(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
    throw new UsageError(`--node-id must be 1-64 letters, digits, '-' or '_', got '${value}'`);
  }
  return value;
}

export function parsePeers(value: string): PeerAddress[] {
  const peers: PeerAddress[] = [];
  const seen = new Set<string>();
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq === -1) throw new UsageError(`--peers entries look like id=host:port, got '${part}'`);
    const nodeId = parseNodeId(part.slice(0, eq));
    const raftAddress = part.slice(eq + 1);
    if (!/^[^:]+:\d{1,5}$/.test(raftAddress)) throw new UsageError(`--peers: '${raftAddress}' is not host:port`);
    if (seen.has(nodeId)) throw new UsageError(`--peers names node '${nodeId}' twice`);
    seen.add(nodeId);
    peers.push({ nodeId, raftAddress });
  }
  return peers;
}

function validate(config: ServerConfig): void {
  if (config.join) {
    if (config.peers.length === 0) throw new UsageError('--join needs --peers: the members of the cluster to join');
    if (!config.peers.some((p) => p.nodeId === config.nodeId)) {
      config.peers.push({ nodeId: config.nodeId, raftAddress: `${config.raftHost}:${config.raftPort}` });
    }
  } else if (config.peers.length > 0 && !config.peers.some((p) => p.nodeId === config.nodeId)) {
    throw new UsageError(`--peers must include this node (--node-id ${config.nodeId})`);
  }
}
