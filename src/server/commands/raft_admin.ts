// Cluster administration in Redis style, from any client connected to any node:
//
//   RAFT.ADDNODE <node-id> <raft-host:port>   the node joins as a non-voting learner, catches up
//                                             (from a snapshot if needed), then is promoted to voter
//   RAFT.REMOVENODE <node-id>                 removes a member, the leader included
//   RAFT.TRANSFER [<node-id>]                 hands leadership over (to the most caught-up voter by default)
//   RAFT.NODES                                lists members: id, client address, role, reachability
//
// A follower sends these to the leader once, like a forwarded write.

import { MapReply, type Reply } from '../../resp/reply';
import type { CommandDef } from '../../locks/command_spec';
import type { ServerHandler } from '../command_table';
import { define } from './define';

const admin: ServerHandler = ({ server }, argv) => server.node.admin(argv);

function nodes({ server }: Parameters<ServerHandler>[0]): Reply {
  return server.node.topology().map(
    (m) =>
      new MapReply([
        ['id', m.nodeId],
        ['address', m.clientAddress],
        ['role', m.isLeader ? 'leader' : m.isLearner ? 'learner' : 'follower'],
        ['reachable', m.reachable ? 1 : 0],
      ]),
  );
}

export const raftAdminCommands: ReadonlyArray<CommandDef<ServerHandler>> = [
  define('raft.addnode', 3, ['admin', 'noscript'], 'Adds a node: it joins as a learner and is promoted to voter once caught up.', admin, { group: 'raft' }),
  define('raft.removenode', 2, ['admin', 'noscript'], 'Removes a node from the cluster (the leader too).', admin, { group: 'raft' }),
  define('raft.transfer', -1, ['admin', 'noscript'], 'Transfers leadership to a node (default: the most caught-up voter).', admin, { group: 'raft' }),
  define('raft.nodes', 1, ['admin', 'noscript', 'loading', 'stale'], 'Lists the cluster members.', nodes, { group: 'raft' }),
];
