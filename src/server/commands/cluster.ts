// The discovery protocols existing clients already speak, mapped onto one Raft group:
//
// - Redis Cluster: the leader owns all 16384 slots, followers are its replicas; ioredis.Cluster,
//   node-redis cluster clients and `redis-cli -c` follow -MOVED and CLUSTER SLOTS to the leader.
// - Redis Sentinel: every node is also a sentinel for the one master, the leader; ioredis and
//   node-redis in Sentinel mode ask any node for the master and hear +switch-master on failover.
//
// Cluster node ids are the SHA1 of the Raft node id, because Redis tools expect 40 hex chars.

import { createHash } from 'node:crypto';
import { ErrorReply, MapReply, OK, VerbatimReply, type Reply } from '../../resp/reply';
import type { CommandDef } from '../../locks/command_spec';
import type { CommandContext, ServerHandler } from '../command_table';
import type { Member } from '../server_api';
import { container, define } from './define';
import { keySlot, SLOT_COUNT } from '../../locks/key_slot';

export function clusterNodeId(nodeId: string): string {
  return createHash('sha1').update(nodeId).digest('hex');
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

function known(members: readonly Member[]): Member[] {
  return members.filter((m) => m.clientAddress !== '');
}

function leaderOf(members: readonly Member[]): Member | undefined {
  return members.find((m) => m.isLeader && m.clientAddress !== '');
}

function text(ctx: CommandContext, body: string): Reply {
  return ctx.client.protocol === 3 ? new VerbatimReply('txt', body) : body;
}

function slots({ server }: CommandContext): Reply {
  const members = known(server.node.topology());
  const leader = leaderOf(members);
  if (!leader) return [];
  const entry: Reply[] = [0, SLOT_COUNT - 1];
  for (const m of [leader, ...members.filter((m) => m !== leader && !m.isLearner)]) {
    const [host, port] = splitAddress(m.clientAddress);
    entry.push([host, port, clusterNodeId(m.nodeId)]);
  }
  return [entry];
}

function shards({ server }: CommandContext): Reply {
  const members = known(server.node.topology());
  const status = server.node.status();
  const nodes = members
    .filter((m) => !m.isLearner)
    .map((m) => {
      const [host, port] = splitAddress(m.clientAddress);
      return new MapReply([
        ['id', clusterNodeId(m.nodeId)],
        ['port', port],
        ['ip', host],
        ['endpoint', host],
        ['role', m.isLeader ? 'master' : 'replica'],
        ['replication-offset', status.appliedIndex],
        ['health', m.reachable ? 'online' : 'fail'],
      ]);
    });
  return [new MapReply([['slots', [0, SLOT_COUNT - 1]], ['nodes', nodes]])];
}

function nodesText(ctx: CommandContext): Reply {
  const { server } = ctx;
  const members = known(server.node.topology());
  const leader = leaderOf(members);
  const term = server.node.status().term;
  let body = '';
  for (const m of members.filter((m) => !m.isLearner)) {
    const [host, port] = splitAddress(m.clientAddress);
    const flags = [m.isSelf ? 'myself' : '', m.isLeader ? 'master' : 'slave', m.reachable ? '' : 'fail'].filter(Boolean).join(',');
    const master = m.isLeader || !leader ? '-' : clusterNodeId(leader.nodeId);
    const slotRange = m.isLeader ? ` 0-${SLOT_COUNT - 1}` : '';
    body += `${clusterNodeId(m.nodeId)} ${host}:${port}@${port + 10000} ${flags} ${master} 0 0 ${term} ${m.reachable ? 'connected' : 'disconnected'}${slotRange}\n`;
  }
  return text(ctx, body);
}

function info(ctx: CommandContext): Reply {
  const { server } = ctx;
  const members = known(server.node.topology());
  const status = server.node.status();
  const ok = status.leaderId !== '';
  const body =
    [
      `cluster_state:${ok ? 'ok' : 'fail'}`,
      `cluster_slots_assigned:${SLOT_COUNT}`,
      `cluster_slots_ok:${ok ? SLOT_COUNT : 0}`,
      'cluster_slots_pfail:0',
      `cluster_slots_fail:${ok ? 0 : SLOT_COUNT}`,
      `cluster_known_nodes:${members.length}`,
      'cluster_size:1',
      `cluster_current_epoch:${status.term}`,
      `cluster_my_epoch:${status.term}`,
    ].join('\r\n') + '\r\n';
  return text(ctx, body);
}

function keyslot(_ctx: CommandContext, argv: string[]): Reply {
  return keySlot(argv[2]);
}

// ---- Sentinel ----

function masterFields(server: CommandContext['server'], name: string): Reply | null {
  const members = known(server.node.topology());
  const leader = leaderOf(members);
  if (!leader) return null;
  const [host, port] = splitAddress(leader.clientAddress);
  const replicas = members.filter((m) => !m.isLeader && !m.isLearner).length;
  return new MapReply([
    ['name', name],
    ['ip', host],
    ['port', String(port)],
    ['runid', clusterNodeId(leader.nodeId)],
    ['flags', 'master'],
    ['num-slaves', String(replicas)],
    ['num-other-sentinels', String(Math.max(0, members.length - 1))],
    ['quorum', String(Math.floor(members.filter((m) => !m.isLearner).length / 2) + 1)],
    ['role-reported', 'master'],
  ]);
}

function sentinel(ctx: CommandContext, argv: string[]): Reply {
  const { server } = ctx;
  const sub = argv[1].toLowerCase();
  const members = known(server.node.topology());
  if (argv.length >= 3 && ['get-master-addr-by-name', 'master', 'replicas', 'slaves', 'sentinels'].includes(sub)) {
    server.noteSentinelName(argv[2]);
  }
  const need = (n: number) => (argv.length < n ? new ErrorReply(`ERR wrong number of arguments for 'sentinel|${sub}' command`) : null);
  switch (sub) {
    case 'get-master-addr-by-name': {
      const bad = need(3);
      if (bad) return bad;
      const leader = leaderOf(members);
      if (!leader) return null;
      const [host, port] = splitAddress(leader.clientAddress);
      return [host, String(port)];
    }
    case 'master': {
      const bad = need(3);
      if (bad) return bad;
      return masterFields(server, argv[2]) ?? new ErrorReply('ERR No such master with that name');
    }
    case 'masters': {
      // The configured name, then every name a client asked about on any node (all are this leader).
      const names = new Set([server.config.sentinelName, ...server.sentinelNames]);
      const out: Reply[] = [];
      for (const name of names) {
        const fields = masterFields(server, name);
        if (fields !== null) out.push(fields);
      }
      return out;
    }
    case 'replicas':
    case 'slaves': {
      const bad = need(3);
      if (bad) return bad;
      const leader = leaderOf(members);
      return members
        .filter((m) => !m.isLeader && !m.isLearner)
        .map((m) => {
          const [host, port] = splitAddress(m.clientAddress);
          return new MapReply([
            ['name', m.clientAddress],
            ['ip', host],
            ['port', String(port)],
            ['runid', clusterNodeId(m.nodeId)],
            ['flags', m.reachable ? 'slave' : 'slave,s_down'],
            ['master-link-status', m.reachable && leader ? 'ok' : 'err'],
            ['master-host', leader ? splitAddress(leader.clientAddress)[0] : ''],
            ['master-port', leader ? String(splitAddress(leader.clientAddress)[1]) : ''],
            ['role-reported', 'slave'],
          ]);
        });
    }
    case 'sentinels': {
      const bad = need(3);
      if (bad) return bad;
      return members
        .filter((m) => !m.isSelf)
        .map((m) => {
          const [host, port] = splitAddress(m.clientAddress);
          return new MapReply([
            ['name', clusterNodeId(m.nodeId)],
            ['ip', host],
            ['port', String(port)],
            ['runid', clusterNodeId(m.nodeId)],
            ['flags', m.reachable ? 'sentinel' : 'sentinel,s_down'],
          ]);
        });
    }
    case 'myid':
      return clusterNodeId(server.config.nodeId);
    case 'ckquorum': {
      const voters = members.filter((m) => !m.isLearner);
      const reachable = voters.filter((m) => m.reachable).length;
      const quorum = Math.floor(voters.length / 2) + 1;
      return reachable >= quorum
        ? `OK ${reachable} usable Sentinels. Quorum and failover authorization can be reached`
        : new ErrorReply(`NOQUORUM ${reachable} usable Sentinels. Not enough available Sentinels to reach the majority`);
    }
    default:
      return new ErrorReply(`ERR unknown subcommand '${argv[1]}'. Try SENTINEL HELP.`);
  }
}

export const clusterCommands: ReadonlyArray<CommandDef<ServerHandler>> = [
  container('cluster', 'A container for Redis Cluster commands (one Raft group owning every slot).', 'cluster', [
    define('cluster|slots', 2, ['loading', 'stale'], 'Returns the mapping of cluster slots to nodes.', slots),
    define('cluster|shards', 2, ['loading', 'stale'], 'Returns the mapping of cluster slots to shards.', shards),
    define('cluster|nodes', 2, ['loading', 'stale'], 'Returns the cluster configuration for a node.', nodesText),
    define('cluster|info', 2, ['loading', 'stale'], 'Returns information about the state of a node.', info),
    define('cluster|myid', 2, ['loading', 'stale'], 'Returns the ID of a node.', ({ server }) => clusterNodeId(server.config.nodeId)),
    define('cluster|keyslot', 3, ['loading', 'stale'], 'Returns the hash slot for a key.', keyslot),
  ]),
  define('asking', 1, ['fast', 'loading', 'stale'], 'Accepted: every slot lives in the one Raft group.', () => OK),
  define('sentinel', -2, ['admin', 'loading', 'stale', 'noscript'], 'Sentinel protocol: the master is the Raft leader.', sentinel, {
    group: 'sentinel',
  }),
];
