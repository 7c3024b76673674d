// Membership changes: validating, encoding and applying a ConfChange to a ConfState.
//
// The choice: single-server changes (one voter added or removed per change), not joint consensus.
// - Any two majorities of configurations that differ by one voter overlap, so a single change
//   can never produce two leaders in one term, without the extra joint state (C_old,new) that
//   every quorum computation, election and ReadIndex round would then have to understand.
// - The lock server adds or removes one member at a time anyway (CLUSTER ADDNODE / FORGET style);
//   replacing several voters at once is a sequence of single changes.
// - Its known bug (Ongaro, raft-dev 2015: a leader of a new term whose log holds an uncommitted
//   change from an old term can commit a conflicting change) is closed by the etcd rule applied
//   here: a leader accepts a conf change only when (1) no earlier conf change is unapplied
//   (pendingConfIndex <= applied) and (2) it has committed an entry of its own term (its no-op).
//
// When does a change take effect? When it is APPLIED (etcd), not when appended (dissertation).
// "Applied" means: the entry was handed to the driver in Ready.committedEntries and the driver
// called advance(). Until then elections, quorums and replication use the previous configuration.
// This is consistent because only one change can be in flight (rule 1), and it keeps the
// configuration a pure function of the applied log: snapshot.conf + conf entries up to applied,
// which the simulator recomputes and compares after every advance(). A node that has committed
// but not yet applied a conf change does not campaign (etcd's hasUnappliedConfChanges).
//
// Learners are non-voting members: they receive the log, never vote, never count for commit or
// elections. Promotion is addVoter on a learner. Removing the leader is allowed: it keeps leading
// (counting itself until the change is applied, then not), refuses proposals, and hands leadership
// to the most caught-up remaining voter with TimeoutNow; it steps down when that voter's election
// reaches it. (Stepping down at once can deadlock: the removed leader may hold the longest log
// while a remaining voter that has not yet learned the removal committed still needs its vote.)

import type { ConfChange, ConfState, NodeId } from './types';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export const EMPTY_CONF: ConfState = { voters: [], learners: [], votersOutgoing: [] };

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const plain: ConfChange = cc.address === undefined
    ? { type: cc.type, nodeId: cc.nodeId }
    : { type: cc.type, nodeId: cc.nodeId, address: cc.address };
  return textEncoder.encode(JSON.stringify(plain));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const parsed = JSON.parse(textDecoder.decode(data)) as ConfChange;
  if (parsed.type !== 'addLearner' && parsed.type !== 'addVoter' && parsed.type !== 'removeNode') {
    throw new Error(`unknown conf change type ${String(parsed.type)}`);
  }
  if (typeof parsed.nodeId !== 'string' || parsed.nodeId === '') throw new Error('conf change without a node id');
  return parsed;
}

/** Why `cc` cannot be proposed against `conf`, or null when it can. */
export function validateConfChange(conf: ConfState, cc: ConfChange): string | null {
  if (conf.votersOutgoing.length > 0) return 'joint configurations are not supported';
  const isVoter = conf.voters.includes(cc.nodeId);
  const isLearner = conf.learners.includes(cc.nodeId);
  switch (cc.type) {
    case 'addLearner':
      if (isVoter) return `${cc.nodeId} is a voter; demotion is not supported`;
      if (isLearner) return `${cc.nodeId} is already a learner`;
      return null;
    case 'addVoter':
      if (isVoter) return `${cc.nodeId} is already a voter`;
      return null;
    case 'removeNode':
      if (!isVoter && !isLearner) return `${cc.nodeId} is not a member`;
      if (isVoter && conf.voters.length === 1) return 'cannot remove the last voter';
      return null;
  }
}

/**
 * The configuration after `cc`. Applying is total (never throws): a change that became a no-op
 * (e.g. adding an existing voter) leaves the configuration as it is, identically on every node.
 */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  const without = (ids: readonly NodeId[]) => ids.filter((id) => id !== cc.nodeId);
  switch (cc.type) {
    case 'addLearner':
      if (conf.voters.includes(cc.nodeId) || conf.learners.includes(cc.nodeId)) return conf;
      return { voters: conf.voters, learners: [...conf.learners, cc.nodeId], votersOutgoing: conf.votersOutgoing };
    case 'addVoter':
      if (conf.voters.includes(cc.nodeId)) return conf;
      return { voters: [...conf.voters, cc.nodeId], learners: without(conf.learners), votersOutgoing: conf.votersOutgoing };
    case 'removeNode':
      if (conf.voters.length === 1 && conf.voters[0] === cc.nodeId) return conf; // never empty the cluster
      return { voters: without(conf.voters), learners: without(conf.learners), votersOutgoing: conf.votersOutgoing };
  }
}

export function confMembers(conf: ConfState): NodeId[] {
  const ids = new Set<NodeId>([...conf.voters, ...conf.learners, ...conf.votersOutgoing]);
  return [...ids];
}

export function confEquals(a: ConfState, b: ConfState): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]) =>
    x.length === y.length && [...x].sort().join('\0') === [...y].sort().join('\0');
  return same(a.voters, b.voters) && same(a.learners, b.learners) && same(a.votersOutgoing, b.votersOutgoing);
}
