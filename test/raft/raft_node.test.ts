// Milestone behaviour of the Raft core, as the driver sees it: a single voter leads at once,
// commits each proposal once the Ready that persists it is advanced (never before its own copy
// is durable), with a commit-only Ready that needs no fsync, and answers ReadIndex; a 3-node cluster
// elects one leader, replicates and commits on every node, and refuses proposals on followers
// with the leader's id. Driven through the synchronous harness: no timers, no sockets.

import t from 'tap';
import { RaftNode } from '../../src/raft/raft_node';
import { EntryType } from '../../src/raft/types';
import { Cluster, dec, enc, testConfig } from './harness';

t.test('single voter: campaign() elects at once, proposals commit once the Ready that persists them is advanced', async (t) => {
  const node = new RaftNode(testConfig('a'), {
    hardState: { term: 0, vote: '', commit: 0 },
    snapshotMeta: null,
    entries: [],
    conf: { voters: ['a'], learners: [], votersOutgoing: [] },
  });
  // First Ready: the bootstrap entry recording the founding membership.
  let rd = node.ready();
  t.equal(rd.entries.length, 1);
  t.equal(rd.entries[0].type, EntryType.ConfChange);
  node.advance();
  node.campaign();
  t.equal(node.status().role, 'leader');
  rd = node.ready();
  t.same(rd.softState, { leaderId: 'a', role: 'leader' });
  t.equal(rd.entries.length, 1, 'the no-op of the new term');
  t.equal(rd.committedEntries.length, 0, 'not committed before it is durable');
  t.ok(rd.mustSync);
  node.advance();
  rd = node.ready();
  t.same(rd.committedEntries.map((e) => e.index), [2], 'committed once durable');
  t.notOk(rd.mustSync, 'a commit-only Ready needs no fsync');
  node.advance();

  const p = node.propose(enc('x'));
  t.ok(p.ok);
  if (!p.ok) return;
  t.equal(p.index, 3);
  t.equal(p.term, 2);
  rd = node.ready();
  t.same(rd.entries.map((e) => dec(e.data)), ['x']);
  t.same(rd.committedEntries, []);
  t.ok(rd.sendBeforePersist, "a leader's messages need not wait for its own write");
  t.equal(rd.messages.length, 0);
  node.advance();
  rd = node.ready();
  t.same(rd.committedEntries.map((e) => e.index), [3]);
  t.equal(rd.hardState?.commit, 3);
  t.notOk(rd.mustSync);
  node.advance();
  t.notOk(node.hasReady());

  node.readIndex(enc('r1'));
  rd = node.ready();
  t.same(rd.readStates.map((r) => [r.index, dec(r.context)]), [[3, 'r1']]);
  node.advance();
});

t.test('single voter: elects itself after its election timeout without campaign()', async (t) => {
  const c = new Cluster(['a']);
  c.tick('a', 25);
  t.equal(c.raft('a').status().role, 'leader');
});

t.test('3 nodes: one leader, replication to all, followers refuse proposals', async (t) => {
  const c = new Cluster(['a', 'b', 'c']);
  c.raft('a').campaign();
  c.stabilize();
  t.equal(c.leader(), 'a');
  for (const id of ['b', 'c']) {
    t.equal(c.raft(id).status().leaderId, 'a');
    const r = c.raft(id).propose(enc('nope'));
    t.same(r, { ok: false, reason: 'not-leader', leaderId: 'a' });
  }
  for (let i = 0; i < 20; i++) t.ok(c.raft('a').propose(enc(`v${i}`)).ok);
  c.stabilize();
  c.tickAll(); // heartbeat carries the final commit index to followers
  c.stabilize();
  const expected = Array.from({ length: 20 }, (_, i) => `v${i}`);
  for (const id of ['a', 'b', 'c']) {
    t.same(c.get(id).applied, expected, `${id} applied every proposal in order`);
    t.equal(c.raft(id).status().commit, c.raft('a').status().lastIndex);
  }
  // ReadIndex from a follower: forwarded to the leader, confirmed by a heartbeat round.
  c.raft('b').readIndex(enc('rb'));
  c.stabilize();
  t.same(c.get('b').readStates.map((r) => [r.index, dec(r.context)]), [[c.raft('a').status().commit, 'rb']]);
});

t.test('3 nodes: a new leader is elected by timeout when the leader is isolated', async (t) => {
  const c = new Cluster(['a', 'b', 'c']);
  c.raft('a').campaign();
  c.stabilize();
  c.isolate('a');
  for (let i = 0; i < 40 && (c.leader() === 'a' || c.leader() === undefined); i++) {
    c.tickAll();
    c.stabilize();
  }
  const leader = c.leader();
  t.ok(leader === 'b' || leader === 'c', `new leader ${leader}`);
  c.tick('a', 20);
  t.equal(c.raft('a').status().role, 'follower', 'check-quorum made the isolated leader step down within 2 election timeouts');
});

t.test('deferCommitBroadcast: a new commit index rides on the next append, or on broadcastCommit(); a membership change goes out at once', async (t) => {
  const appliedEverywhere = (c: Cluster, value: string): string[] => ['a', 'b', 'c'].filter((id) => c.get(id).applied.includes(value));
  const commitOnlyAppends = (c: Cluster, from: number): number => c.sent.slice(from).filter((m) => m.type === 'app' && m.entries.length === 0).length;

  // etcd's way, the default: followers hear of the commit at once, with an append of no entries.
  const eager = new Cluster(['a', 'b', 'c']);
  eager.raft('a').campaign();
  eager.stabilize();
  let mark = eager.sent.length;
  eager.raft('a').propose(enc('x'));
  eager.stabilize();
  t.same(appliedEverywhere(eager, 'x'), ['a', 'b', 'c'], 'eager: every node applied x');
  t.equal(commitOnlyAppends(eager, mark), 2, 'eager: one commit-only append per follower');

  const c = new Cluster(['a', 'b', 'c'], { deferCommitBroadcast: true });
  const a = c.raft('a');
  a.campaign();
  c.stabilize();
  t.equal(c.raft('b').status().commit, a.status().commit, "the term's no-op commit went out at once");
  mark = c.sent.length;
  a.propose(enc('x'));
  c.stabilize();
  t.same(appliedEverywhere(c, 'x'), ['a'], 'deferred: only the leader applied x');
  t.equal(commitOnlyAppends(c, mark), 0, 'deferred: no commit-only append');
  t.ok(a.commitBroadcastPending(), 'the leader knows followers are behind');
  a.propose(enc('y'));
  c.stabilize();
  t.same(appliedEverywhere(c, 'x'), ['a', 'b', 'c'], "y's append carried x's commit");
  t.same(appliedEverywhere(c, 'y'), ['a']);
  const committedY = a.status().commit;
  a.broadcastCommit(committedY - 1);
  c.stabilize();
  t.same(appliedEverywhere(c, 'y'), ['a'], 'broadcastCommit(upTo) skips followers already told of commits up to upTo');
  a.broadcastCommit(committedY);
  c.stabilize();
  t.same(appliedEverywhere(c, 'y'), ['a', 'b', 'c'], 'broadcastCommit() told them');
  t.notOk(a.commitBroadcastPending());

  // A removed node learns of its removal only from the commit: that one is not held back.
  t.ok(a.proposeConfChange({ type: 'removeNode', nodeId: 'c' }).ok);
  c.stabilize();
  t.same([...c.raft('c').status().conf.voters].sort(), ['a', 'b'], 'the removed node applied its removal');
  t.same([...c.raft('b').status().conf.voters].sort(), ['a', 'b']);
});

t.test('a removed node holding the longest log campaigns to hand over, so the voter left is never stuck (sim seed 13079634)', async (t) => {
  const c = new Cluster(['a', 'b']);
  c.raft('a').campaign();
  c.stabilize();
  t.equal(c.leader(), 'a');
  const proposed = c.raft('a').proposeConfChange({ type: 'removeNode', nodeId: 'a' });
  t.ok(proposed.ok);
  if (!proposed.ok) return;
  const removal = proposed.index;
  // b never learns that a's removal committed, and b's first entry as leader reaches only a:
  // a's acknowledgement is lost, then b crashes before that entry is on its own disk.
  c.filter = (m) =>
    !(m.from === 'a' && m.to === 'b' && (m.type === 'app' || m.type === 'heartbeat') && m.commit >= removal) &&
    !(m.from === 'a' && m.to === 'b' && m.type === 'appResp');
  c.stabilize();
  t.same(c.raft('a').status().conf.voters, ['b'], 'a applied its removal');
  t.equal(c.raft('b').status().role, 'leader', 'a handed leadership over to b');
  t.equal(c.raft('a').status().lastIndex, removal + 1, "a holds b's no-op");
  const bDisk = c.get('b').disk;
  bDisk.entries = bDisk.entries.filter((e) => e.index <= removal);
  c.restart('b');
  c.heal();
  t.same(c.raft('b').status().conf.voters, ['a', 'b'], 'b still counts a as a voter: it needs its vote');

  // a refuses b (its log is longer); were a never to campaign, nobody could lead again.
  for (let i = 0; i < 200 && !(c.leader() === 'b' && c.raft('b').status().conf.voters.length === 1); i++) {
    c.tickAll();
    c.stabilize();
  }
  t.equal(c.leader(), 'b', 'b leads again');
  t.same(c.raft('b').status().conf.voters, ['b'], 'and has applied the removal of a');
  const after = c.raft('b').propose(enc('after'));
  t.ok(after.ok);
  c.stabilize();
  t.ok(c.get('b').applied.includes('after'), 'b commits on its own');
});
