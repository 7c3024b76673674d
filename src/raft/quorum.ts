// Quorum arithmetic, kept apart from the node so it can be checked on its own: which index a
// majority has reached, and whether a vote (or a set of ReadIndex acks) has been won.
//
// A joint configuration (votersOutgoing non-empty) needs a majority of both halves, as in
// etcd's quorum.JointConfig. The core uses single-server changes, so the outgoing half is always
// empty today; the joint form costs three lines and keeps the ConfState shape honest.

import type { NodeId } from './types';

export type VoteResult = 'pending' | 'lost' | 'won';

export function majoritySize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** Largest index that a majority of `voters` has matched. An empty set imposes no limit. */
export function majorityCommitted(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[majoritySize(voters.length) - 1];
}

export function majorityVoteResult(voters: readonly NodeId[], granted: (id: NodeId) => boolean | undefined): VoteResult {
  if (voters.length === 0) return 'won';
  let yes = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = granted(id);
    if (vote === undefined) missing++;
    else if (vote) yes++;
  }
  const quorum = majoritySize(voters.length);
  if (yes >= quorum) return 'won';
  if (yes + missing >= quorum) return 'pending';
  return 'lost';
}

export function jointCommitted(
  incoming: readonly NodeId[],
  outgoing: readonly NodeId[],
  matchOf: (id: NodeId) => number,
): number {
  return Math.min(majorityCommitted(incoming, matchOf), majorityCommitted(outgoing, matchOf));
}

export function jointVoteResult(
  incoming: readonly NodeId[],
  outgoing: readonly NodeId[],
  granted: (id: NodeId) => boolean | undefined,
): VoteResult {
  const a = majorityVoteResult(incoming, granted);
  const b = majorityVoteResult(outgoing, granted);
  if (a === b) return a;
  if (a === 'lost' || b === 'lost') return 'lost';
  return 'pending';
}
