// The rules of the Raft paper (Ongaro & Ousterhout, sections 5.1-5.4, 6 and 7), one test per rule,
// named after its section, in etcd's raft_paper_test.go style: build nodes in a known state
// (init), feed them messages or ticks (act), and check the messages they send and the state they
// reach (check). Each test also checks the negative space (what must NOT happen). No sleeps, no
// ports, no wall clock: the synchronous harness in ./harness.ts delivers messages by hand.

import t from 'tap';
import { RaftNode } from '../../src/raft/raft_node';
import { EntryType, type Message } from '../../src/raft/types';
import { Cluster, dec, enc, testConfig } from './harness';

function msg(m: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message {
  return { logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: null, snapshot: null, ...m };
}

/** A cluster with `leader` elected and everything delivered. */
function elected(ids: string[], leader = ids[0]): Cluster {
  const c = new Cluster(ids);
  c.raft(leader).campaign();
  c.stabilize();
  return c;
}

function sentBy(c: Cluster, from: string, type: Message['type']): Message[] {
  return c.take().filter((m) => m.from === from && m.type === type);
}

// ---------------------------------------------------------------- 5.1

t.test('5.1: a node that sees a higher term adopts it and becomes a follower (any role)', async (t) => {
  for (const role of ['follower', 'candidate', 'leader'] as const) {
    const c = role === 'leader' ? elected(['a', 'b', 'c']) : new Cluster(['a', 'b', 'c']);
    const a = c.raft('a');
    if (role === 'candidate') {
      a.campaign(); // pre-vote round
      c.take();
      a.step(msg({ type: 'preVoteResp', from: 'b', to: 'a', term: a.currentTerm() + 1 }));
      t.equal(a.currentRole(), 'candidate');
    }
    const term = a.currentTerm() + 5;
    a.step(msg({ type: 'app', from: 'c', to: 'a', term, index: 0, logTerm: 0 }));
    t.equal(a.currentTerm(), term, `${role} adopts the higher term`);
    t.equal(a.currentRole(), 'follower', `${role} becomes follower`);
    t.equal(a.status().leaderId, 'c', 'and recognises the sender of an append as leader');
  }
});

t.test('5.1: a message from an older term is rejected and tells the sender the newer term', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const b = c.raft('b');
  const term = b.currentTerm();
  b.step(msg({ type: 'app', from: 'c', to: 'b', term: term - 1, index: 0, logTerm: 0, entries: [] }));
  const out = c.take().filter((m) => m.from === 'b' && m.to === 'c');
  t.equal(out.length, 1);
  t.equal(out[0].type, 'appResp');
  t.equal(out[0].term, term, 'the stale leader learns the current term');
  t.equal(b.status().leaderId, 'a', 'the real leader is kept');
});

// ---------------------------------------------------------------- 5.2

t.test('5.2: a follower that hears nothing for an election timeout campaigns (pre-vote first, then vote)', async (t) => {
  const c = new Cluster(['a', 'b', 'c']);
  c.take();
  const a = c.raft('a');
  const term = a.currentTerm();
  for (let i = 0; i < 9; i++) a.tick();
  t.equal(a.currentRole(), 'follower', 'not before electionTicks');
  for (let i = 0; i < 11; i++) a.tick();
  t.equal(a.currentRole(), 'precandidate');
  t.equal(a.currentTerm(), term, 'pre-vote does not bump the term');
  const preVotes = sentBy(c, 'a', 'preVote');
  t.same(preVotes.map((m) => [m.to, m.term]).sort(), [['b', term + 1], ['c', term + 1]]);
  a.step(msg({ type: 'preVoteResp', from: 'b', to: 'a', term: term + 1 }));
  t.equal(a.currentRole(), 'candidate');
  t.equal(a.currentTerm(), term + 1, 'the real election bumps the term');
  t.equal(a.status().vote, 'a', 'and votes for itself');
  const votes = sentBy(c, 'a', 'vote');
  t.same(votes.map((m) => m.to).sort(), ['b', 'c']);
  t.ok(votes.every((m) => m.index === a.status().lastIndex && m.term === term + 1), 'vote requests carry the last log index');
});

t.test('5.2: a candidate wins with votes from a majority, not fewer', async (t) => {
  const cases: Array<[number, number, string]> = [
    [3, 1, 'candidate'], // self + 1 = 2 of 3: wins
    [3, 0, 'candidate'],
    [5, 1, 'candidate'],
    [5, 2, 'leader'],
  ];
  for (const [size, grants, expected] of cases) {
    const ids = Array.from({ length: size }, (_, i) => `n${i}`);
    const c = new Cluster(ids);
    const n = c.raft('n0');
    n.step(msg({ type: 'timeoutNow', from: 'n1', to: 'n0', term: n.currentTerm() })); // straight to the real election
    c.take();
    const term = n.currentTerm();
    for (let g = 1; g <= grants; g++) n.step(msg({ type: 'voteResp', from: `n${g}`, to: 'n0', term }));
    const want = size === 3 && grants === 1 ? 'leader' : expected;
    t.equal(n.currentRole(), want, `${size} nodes, ${grants} granted votes -> ${want}`);
  }
});

t.test('5.2: a candidate that loses a majority of votes goes back to follower', async (t) => {
  const c = new Cluster(['a', 'b', 'c']);
  const a = c.raft('a');
  a.step(msg({ type: 'timeoutNow', from: 'b', to: 'a', term: a.currentTerm() }));
  const term = a.currentTerm();
  a.step(msg({ type: 'voteResp', from: 'b', to: 'a', term, reject: true }));
  t.equal(a.currentRole(), 'candidate', 'one rejection of three is not yet a loss');
  a.step(msg({ type: 'voteResp', from: 'c', to: 'a', term, reject: true }));
  t.equal(a.currentRole(), 'follower');
});

t.test('5.2: a node votes at most once per term, first come first served', async (t) => {
  const c = new Cluster(['a', 'b', 'c']);
  c.take();
  const a = c.raft('a');
  const term = a.currentTerm() + 1;
  const last = a.status().lastIndex;
  a.step(msg({ type: 'vote', from: 'b', to: 'a', term, index: last, logTerm: 1 }));
  a.step(msg({ type: 'vote', from: 'c', to: 'a', term, index: last, logTerm: 1 }));
  a.step(msg({ type: 'vote', from: 'b', to: 'a', term, index: last, logTerm: 1 }));
  const replies = sentBy(c, 'a', 'voteResp');
  t.same(replies.map((m) => [m.to, m.reject]), [['b', false], ['c', true], ['b', false]], 'c is refused; b may ask again');
  t.equal(a.status().vote, 'b');
  const hs = c.get('a').disk.hardState;
  t.equal(hs.vote, 'b', 'the vote is in the hard state to persist before the reply leaves');
});

t.test('5.2: a candidate that hears from a leader of its term becomes its follower', async (t) => {
  const c = new Cluster(['a', 'b', 'c']);
  const a = c.raft('a');
  a.step(msg({ type: 'timeoutNow', from: 'b', to: 'a', term: a.currentTerm() }));
  const term = a.currentTerm();
  a.step(msg({ type: 'heartbeat', from: 'b', to: 'a', term, commit: 0 }));
  t.equal(a.currentRole(), 'follower');
  t.equal(a.status().leaderId, 'b');
  t.equal(a.currentTerm(), term);
});

t.test('5.2: election timeouts are randomized in [electionTicks, 2*electionTicks) from the injected PRNG', async (t) => {
  const seen = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    let draws = seed / 40;
    const node = new RaftNode(
      { ...testConfig('a'), random: () => draws },
      { hardState: { term: 1, vote: '', commit: 0 }, snapshotMeta: null, entries: [], conf: { voters: ['a', 'b', 'c'], learners: [], votersOutgoing: [] } },
    );
    draws = 0; // later draws do not matter
    let ticks = 0;
    while (node.currentRole() === 'follower' && ticks < 100) {
      node.tick();
      ticks++;
    }
    t.ok(ticks >= 10 && ticks < 20, `timeout ${ticks} in [10, 20)`);
    seen.add(ticks);
  }
  t.ok(seen.size >= 5, 'different draws give different timeouts');
});

t.test('5.2: a leader sends heartbeats every heartbeatTicks, carrying min(match, commit)', async (t) => {
  const c = elected(['a', 'b', 'c']);
  c.raft('a').tick();
  const beats = sentBy(c, 'a', 'heartbeat');
  t.same(beats.map((m) => m.to).sort(), ['b', 'c']);
  t.ok(beats.every((m) => m.commit === c.raft('a').status().commit));
  t.same(sentBy(c, 'b', 'heartbeat'), [], 'followers do not send heartbeats');
});

// ---------------------------------------------------------------- 5.3

t.test('5.3: the leader appends a proposal and replicates it; it commits on a majority, then followers learn the commit', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const a = c.raft('a');
  c.filter = (m) => m.to !== 'c' && m.from !== 'c'; // c is slow
  const p = a.propose(enc('x'));
  t.ok(p.ok);
  if (!p.ok) return;
  const apps = c.queue.length === 0 ? c.take() : c.take();
  t.ok(apps.some((m) => m.type === 'app' && m.to === 'b' && m.entries.some((e) => dec(e.data) === 'x')), 'append sent to b');
  t.equal(a.commitIndex(), p.index - 1, 'not committed before a majority has it');
  for (const m of apps) if (c.filter(m)) c.nodes.get(m.to)?.node.step(m);
  c.stabilize();
  t.equal(a.commitIndex(), p.index, 'committed with a and b (2 of 3)');
  t.same(c.get('a').applied, ['x'], 'the leader applies it');
  c.heal();
  c.tickAll();
  c.stabilize();
  t.same(c.get('c').applied, ['x'], 'the slow follower catches up and applies it too');
});

t.test('5.3: a follower refuses an append whose previous entry does not match, with a hint', async (t) => {
  const c = elected(['a', 'b', 'c']);
  c.take();
  const b = c.raft('b');
  const term = b.currentTerm();
  const last = b.status().lastIndex;
  b.step(msg({ type: 'app', from: 'a', to: 'b', term, index: last + 5, logTerm: term, entries: [], commit: 0 }));
  const [resp] = sentBy(c, 'b', 'appResp');
  t.equal(resp.reject, true);
  t.equal(resp.index, last + 5);
  t.equal(resp.rejectHint, last, 'hint: our last index');
  t.equal(b.status().lastIndex, last, 'nothing appended');
  b.step(msg({ type: 'app', from: 'a', to: 'b', term, index: last, logTerm: term + 7, entries: [], commit: 0 }));
  t.equal(sentBy(c, 'b', 'appResp')[0].reject, true, 'same index, different term: refused');
});

t.test('5.3: a follower deletes conflicting uncommitted entries and takes the leader\'s', async (t) => {
  const c = elected(['a', 'b', 'c']);
  c.take();
  const b = c.raft('b');
  const term = b.currentTerm();
  const last = b.status().lastIndex;
  const commit = b.commitIndex();
  const mk = (index: number, tm: number, s: string) => ({ index, term: tm, type: EntryType.Normal, data: enc(s) });
  b.step(msg({ type: 'app', from: 'a', to: 'b', term, index: last, logTerm: term, entries: [mk(last + 1, term, 'old1'), mk(last + 2, term, 'old2')], commit }));
  t.equal(b.status().lastIndex, last + 2);
  // A new leader (higher term) overwrites from last+2 on.
  b.step(msg({ type: 'app', from: 'c', to: 'b', term: term + 1, index: last + 1, logTerm: term, entries: [mk(last + 2, term + 1, 'new2'), mk(last + 3, term + 1, 'new3')], commit }));
  const log = b.logView();
  t.equal(dec(log.entry(last + 1)!.data), 'old1', 'the matching prefix is kept');
  t.equal(dec(log.entry(last + 2)!.data), 'new2', 'the conflict is replaced');
  t.equal(log.lastIndex, last + 3);
  c.drain('b');
  t.same(c.get('b').disk.entries.slice(-3).map((e) => dec(e.data)), ['old1', 'new2', 'new3'], 'storage truncated the suffix too');
});

t.test('5.3: the leader backs nextIndex up by whole terms on rejection and repairs a divergent follower', async (t) => {
  const c = elected(['a', 'b', 'c']);
  // b wins term 3 (a isolated), then is cut off and writes entries nobody else gets.
  c.isolate('a');
  for (let i = 0; i < 40 && c.raft('b').currentRole() !== 'leader'; i++) {
    c.tick('b');
    c.tick('c');
    c.stabilize();
  }
  c.heal();
  c.tick('b'); // its heartbeat tells a about term 3
  c.stabilize();
  const b = c.raft('b');
  t.equal(b.currentRole(), 'leader');
  t.equal(c.raft('a').currentRole(), 'follower');
  c.isolate('b');
  for (let i = 0; i < 10; i++) t.ok(b.propose(enc(`lost${i}`)).ok);
  c.stabilize();
  // a and c elect a leader of a later term without b.
  for (let i = 0; i < 60 && !(c.leader() === 'a' || c.leader() === 'c'); i++) {
    c.tick('a');
    c.tick('c');
    c.stabilize();
  }
  const leader = c.leader()!;
  t.ok(leader === 'a' || leader === 'c', `new leader ${leader}`);
  c.raft(leader).propose(enc('kept'));
  c.stabilize();
  c.heal();
  c.sent.length = 0;
  for (let i = 0; i < 3; i++) {
    c.tickAll();
    c.stabilize();
  }
  const rejects = c.sent.filter((m) => m.from === 'b' && m.type === 'appResp' && m.reject);
  t.ok(rejects.length <= 2, `10 divergent entries repaired with ${rejects.length} rejection(s), not one per entry`);
  t.same(c.get('b').applied, c.get(leader).applied);
  t.ok(c.get('b').applied.includes('kept'));
  t.notOk(c.get('b').applied.some((s) => s.startsWith('lost')), 'no uncommitted entry of the old leader survived');
});

// ---------------------------------------------------------------- 5.4

t.test('5.4.1: a voter refuses a candidate whose log is less up to date', async (t) => {
  const c = elected(['a', 'b', 'c']);
  c.raft('a').propose(enc('x'));
  c.stabilize();
  c.take();
  const b = c.raft('b');
  const last = b.status().lastIndex;
  const lastTerm = b.logView().term(last)!;
  const cases: Array<[number, number, boolean]> = [
    [last - 1, lastTerm, true], // shorter log, same term
    [last + 5, lastTerm - 1, true], // longer log, older last term
    [last, lastTerm, false], // as up to date
    [last - 1, lastTerm + 1, false], // newer last term wins even if shorter
  ];
  let term = b.currentTerm() + 100;
  for (const [index, logTerm, reject] of cases) {
    term++;
    b.step(msg({ type: 'vote', from: 'c', to: 'b', term, index, logTerm, context: enc('transfer') }));
    const [resp] = sentBy(c, 'b', 'voteResp');
    t.equal(resp.reject, reject, `candidate (${index}, ${logTerm}) vs ours (${last}, ${lastTerm})`);
  }
});

t.test('5.4.2: a leader never commits an entry of a previous term by counting replicas (figure 8)', async (t) => {
  for (const buggy of [false, true]) {
    const c = new Cluster(['a', 'b', 'c', 'd', 'e'], buggy ? { bugs: { commitPreviousTermByCounting: true } } : {});
    c.take();
    const a = c.raft('a');
    // Term 2: a leads and writes X, which reaches only b.
    a.step(msg({ type: 'timeoutNow', from: 'b', to: 'a', term: a.currentTerm() }));
    for (const v of ['b', 'c']) a.step(msg({ type: 'voteResp', from: v, to: 'a', term: a.currentTerm() }));
    t.equal(a.currentRole(), 'leader');
    c.take();
    const p = a.propose(enc('X'));
    t.ok(p.ok);
    const idx = (p as { index: number }).index;
    for (const m of c.take()) if (m.to === 'b' && m.type === 'app') c.raft('b').step(m);
    c.take();
    // Term 4 (after a term 3 elsewhere): a leads again with c's vote and sends X to c.
    const term4 = a.currentTerm() + 2;
    a.step(msg({ type: 'heartbeat', from: 'e', to: 'a', term: term4 - 1, commit: 0 }));
    a.step(msg({ type: 'timeoutNow', from: 'e', to: 'a', term: term4 - 1 }));
    for (const v of ['b', 'c']) a.step(msg({ type: 'voteResp', from: v, to: 'a', term: term4 }));
    t.equal(a.currentRole(), 'leader');
    t.equal(a.currentTerm(), term4);
    // b and c acknowledge everything up to X (but not a's own entries of term 4, if any).
    for (const v of ['b', 'c']) a.step(msg({ type: 'appResp', from: v, to: 'a', term: term4, index: idx }));
    if (buggy) t.ok(a.commitIndex() >= idx, 'the broken variant commits X by counting (3 of 5 hold it)');
    else t.ok(a.commitIndex() < idx, 'X (term 2) is on a majority but not committed by counting');
  }
});

t.test('5.4.2: the old entry commits once an entry of the current term (the no-op) does', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const a = c.raft('a');
  const noopIndex = a.status().lastIndex;
  t.equal(a.logView().entry(noopIndex)!.data.length, 0, 'a new leader starts its term with an empty no-op');
  t.equal(a.logView().entry(noopIndex)!.term, a.currentTerm());
  t.equal(a.commitIndex(), noopIndex, 'committing it committed everything before it');
});

// ---------------------------------------------------------------- 6 (membership)

t.test('6: a learner receives the log but neither votes nor counts for commit', async (t) => {
  const c = elected(['a', 'b']);
  c.add('l');
  const r = c.raft('a').proposeConfChange({ type: 'addLearner', nodeId: 'l' });
  t.ok(r.ok);
  c.stabilize();
  c.tickAll();
  c.stabilize();
  t.same(c.raft('a').status().conf.learners, ['l']);
  c.isolate('b');
  const p = c.raft('a').propose(enc('y'));
  t.ok(p.ok);
  c.stabilize();
  t.ok(c.raft('a').commitIndex() < (p as { index: number }).index, 'leader + learner is not a majority of {a, b}');
  t.ok(c.raft('l').status().lastIndex >= (p as { index: number }).index, 'but the learner has the entry');
  for (let i = 0; i < 50; i++) c.tick('l');
  t.equal(c.raft('l').currentRole(), 'follower', 'a learner never campaigns');
});

t.test('6: promotion (addVoter) and removal take effect when applied, one change at a time', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const a = c.raft('a');
  c.add('d');
  const first = a.proposeConfChange({ type: 'addLearner', nodeId: 'd' });
  t.ok(first.ok);
  const second = a.proposeConfChange({ type: 'addVoter', nodeId: 'd' });
  t.same(second, { ok: false, reason: 'conf-change-pending', leaderId: 'a' }, 'refused while the first is unapplied');
  t.same(a.status().conf.learners, [], 'not in effect before it is applied');
  c.stabilize();
  t.same(a.status().conf.learners, ['d'], 'in effect once applied');
  t.ok(a.proposeConfChange({ type: 'addVoter', nodeId: 'd' }).ok);
  c.stabilize();
  c.tickAll();
  c.stabilize();
  t.same([...a.status().conf.voters].sort(), ['a', 'b', 'c', 'd']);
  t.same([...c.raft('d').status().conf.voters].sort(), ['a', 'b', 'c', 'd'], 'the new voter learned the configuration from the log');
  t.ok(a.proposeConfChange({ type: 'removeNode', nodeId: 'b' }).ok);
  c.stabilize();
  c.tickAll();
  c.stabilize();
  t.same([...c.raft('c').status().conf.voters].sort(), ['a', 'c', 'd']);
  const invalid = a.proposeConfChange({ type: 'removeNode', nodeId: 'zz' });
  t.equal(invalid.ok, false);
  t.equal((invalid as { reason: string }).reason, 'invalid-conf-change');
});

t.test('6: a new leader accepts no conf change before its no-op commits', async (t) => {
  const c = elected(['a', 'b', 'c']);
  c.isolate('a');
  const b = c.raft('b');
  b.step(msg({ type: 'timeoutNow', from: 'a', to: 'b', term: b.currentTerm() }));
  c.filter = () => false; // hold every message: the no-op cannot commit
  c.stabilize();
  b.step(msg({ type: 'voteResp', from: 'c', to: 'b', term: b.currentTerm() }));
  t.equal(b.currentRole(), 'leader');
  const r = b.proposeConfChange({ type: 'addLearner', nodeId: 'x' });
  t.same(r, { ok: false, reason: 'conf-change-pending', leaderId: 'b' });
  c.heal();
  c.stabilize();
  t.ok(b.proposeConfChange({ type: 'addLearner', nodeId: 'x' }).ok, 'accepted once the no-op committed');
});

t.test('6: removing the leader: it hands leadership to a remaining voter, then steps down', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const a = c.raft('a');
  t.ok(a.proposeConfChange({ type: 'removeNode', nodeId: 'a' }).ok);
  c.stabilize();
  // (A TimeoutNow that arrives before the transferee applied the change is ignored, as in etcd;
  // the leader retries after an election timeout.)
  for (let i = 0; i < 25 && c.leader() === 'a'; i++) {
    c.tickAll();
    c.stabilize();
  }
  const leader = c.leader();
  t.ok(leader === 'b' || leader === 'c', `new leader ${leader}`);
  t.equal(a.currentRole(), 'follower');
  t.same(a.propose(enc('z')).ok, false);
  t.ok(c.raft(leader!).propose(enc('after')).ok);
  c.stabilize();
  c.tickAll();
  c.stabilize();
  t.same(c.get(leader!).applied.slice(-1), ['after'], 'the remaining cluster commits without the removed node');
});

// ---------------------------------------------------------------- 7 (log compaction)

t.test('7: a follower behind the compacted log gets the snapshot in chunks and resumes from it', async (t) => {
  const c = new Cluster(['a', 'b', 'c'], { snapshotChunkBytes: 10 });
  c.raft('a').campaign();
  c.stabilize();
  c.isolate('c');
  const a = c.raft('a');
  for (let i = 0; i < 20; i++) a.propose(enc(`v${i}`));
  c.stabilize();
  const applied = c.get('a');
  const snap = a.compact(applied.appliedIndex, enc(JSON.stringify(applied.applied)));
  t.equal(a.status().firstIndex, snap.meta.index + 1, 'entries up to the snapshot are dropped');
  t.same([...snap.meta.conf.voters].sort(), ['a', 'b', 'c'], 'the snapshot records the configuration');
  c.heal();
  c.sent.length = 0;
  for (let i = 0; i < 5; i++) {
    c.tickAll();
    c.stabilize();
  }
  const chunks = c.sent.filter((m) => m.type === 'snap' && m.to === 'c');
  const total = snap.data.length;
  t.ok(chunks.length >= Math.ceil(total / 10), `${chunks.length} chunks for ${total} bytes`);
  t.ok(chunks.every((m) => m.snapshot!.data.length <= 10), 'no chunk exceeds snapshotChunkBytes');
  t.equal(chunks.filter((m) => m.snapshot!.done).length >= 1, true, 'the last chunk says done');
  t.same(c.get('c').applied, applied.applied, 'c installed the snapshot');
  t.equal(c.get('c').disk.snapshot?.meta.index, snap.meta.index, 'and persisted it');
  a.propose(enc('after'));
  c.stabilize();
  c.tickAll();
  c.stabilize();
  t.same(c.get('c').applied.slice(-1), ['after'], 'and replicates normally from it');
});

t.test('7: releasing a snapshot says whether a transfer took its data (its owner may free it only if none did)', async (t) => {
  const c = new Cluster(['a', 'b', 'c'], { snapshotChunkBytes: 10 });
  c.raft('a').campaign();
  c.stabilize();
  const a = c.raft('a');
  for (let i = 0; i < 5; i++) a.propose(enc(`v${i}`));
  c.stabilize();
  const kept = a.compact(c.get('a').appliedIndex, enc('state one'));
  t.equal(a.releaseSnapshotData(kept.meta.index), true, 'no follower needed it: the caller holds the only reference');
  t.equal(a.releaseSnapshotData(kept.meta.index), false, 'a second release finds nothing held');

  c.isolate('c');
  for (let i = 0; i < 5; i++) a.propose(enc(`w${i}`));
  c.stabilize();
  const lent = a.compact(c.get('a').appliedIndex, enc(JSON.stringify(c.get('a').applied)));
  c.heal();
  c.sent.length = 0;
  c.tickAll();
  c.stabilize();
  t.ok(c.sent.some((m) => m.type === 'snap' && m.to === 'c'), 'c, behind the compacted log, was sent chunks of it');
  t.equal(a.releaseSnapshotData(lent.meta.index), false, 'chunks of it went to a transfer: it must not be freed');
});

t.test('7: a restarted node rebuilds from its persisted snapshot and entries', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const a = c.raft('a');
  for (let i = 0; i < 5; i++) a.propose(enc(`v${i}`));
  c.stabilize();
  c.tickAll();
  c.stabilize();
  const b = c.get('b');
  const snap = b.node.compact(b.appliedIndex - 2, enc(JSON.stringify(b.applied.slice(0, -2))));
  b.disk.snapshot = snap;
  b.disk.entries = b.disk.entries.filter((e) => e.index > snap.meta.index);
  const before = b.applied.slice();
  c.restart('b');
  t.same(c.get('b').applied, before, 'snapshot + replayed entries give the same state');
  t.equal(c.raft('b').currentTerm(), a.currentTerm(), 'term survives the restart');
});

// ---------------------------------------------------------------- beyond the paper's core

t.test('pre-vote: an isolated node does not inflate its term or depose the leader when it returns', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const term = c.raft('a').currentTerm();
  c.isolate('c');
  for (let i = 0; i < 100; i++) {
    c.tick('c');
    c.stabilize();
  }
  t.equal(c.raft('c').currentTerm(), term, 'pre-votes never won, so no term was bumped');
  c.heal();
  c.tickAll();
  c.stabilize();
  t.equal(c.leader(), 'a', 'the leader is undisturbed');
  t.equal(c.raft('a').currentTerm(), term);
});

t.test('check-quorum: a leader cut off from a quorum steps down; followers with a live leader ignore votes', async (t) => {
  const c = elected(['a', 'b', 'c']);
  c.isolate('a');
  for (let i = 0; i < 25; i++) c.tick('a');
  t.equal(c.raft('a').currentRole(), 'follower', 'stepped down within two election timeouts');
  c.heal();
  const c2 = elected(['a', 'b', 'c']);
  c2.take();
  const b = c2.raft('b');
  const term = b.currentTerm();
  b.step(msg({ type: 'vote', from: 'c', to: 'b', term: term + 1, index: 100, logTerm: 100 }));
  t.equal(b.currentTerm(), term, 'in lease: the vote is ignored, term unchanged');
  t.same(sentBy(c2, 'b', 'voteResp'), []);
});

t.test('forgetLeader: followers that believe the leader dead elect a new one without waiting out the timeout', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const term = c.raft('a').currentTerm();
  c.isolate('a'); // the leader's process is gone
  t.equal(c.raft('a').forgetLeader(), false, 'a leader has no leader to forget');
  // Without forgetting: b's campaign is ignored by c, which is still in a's lease.
  c.raft('b').campaign();
  c.stabilize();
  t.equal(c.leader(), 'a', 'c ignored the pre-vote: nobody else leads yet');
  t.equal(c.raft('c').status().leaderId, 'a');
  t.equal(c.raft('b').currentTerm(), term, 'a failed pre-vote bumps no term');
  // c forgets a (its connection to a was refused): b's next campaign wins at once, no tick needed.
  t.equal(c.raft('c').forgetLeader(), true);
  t.equal(c.raft('c').status().leaderId, '');
  t.equal(c.raft('c').currentTerm(), term, 'forgetting changes no term');
  t.equal(c.raft('c').forgetLeader(), false, 'nothing left to forget');
  c.raft('b').campaign();
  c.stabilize();
  t.equal(c.raft('b').currentRole(), 'leader', 'elected without a single tick');
  t.equal(c.raft('b').currentTerm(), term + 1);
});

t.test('forgetLeader: a live leader is undisturbed, and lease reads refuse it', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const term = c.raft('a').currentTerm();
  // b wrongly thinks a is gone and campaigns: c still hears from a and ignores it.
  t.equal(c.raft('b').forgetLeader(), true);
  c.raft('b').campaign();
  c.stabilize();
  c.tickAll();
  c.stabilize();
  t.equal(c.leader(), 'a', 'a still leads');
  t.equal(c.raft('a').currentTerm(), term, 'no term was bumped');
  t.equal(c.raft('b').status().leaderId, 'a', 'b follows a again once it hears from it');
  const lease = new Cluster(['a', 'b', 'c'], { readOnly: 'lease' });
  lease.raft('a').campaign();
  lease.stabilize();
  t.equal(lease.raft('b').forgetLeader(), false, 'lease reads rest on followers honouring the lease');
  t.equal(lease.raft('b').status().leaderId, 'a');
});

t.test('ReadIndex: served after a quorum heartbeat round, not by a leader that lost its quorum', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const a = c.raft('a');
  a.propose(enc('w'));
  c.stabilize();
  a.readIndex(enc('r1'));
  t.same(c.get('a').readStates, [], 'not before the heartbeat round');
  c.stabilize();
  t.same(c.get('a').readStates.map((r) => [dec(r.context), r.index]), [['r1', a.commitIndex()]]);
  c.isolate('a');
  a.readIndex(enc('r2'));
  c.stabilize();
  c.tickAll();
  c.stabilize();
  t.same(c.get('a').readStates.map((r) => dec(r.context)), ['r1'], 'an isolated leader never answers');
});

t.test('ReadIndex: a new leader answers only after committing its no-op', async (t) => {
  const c = elected(['a', 'b', 'c']);
  c.isolate('a');
  const b = c.raft('b');
  b.step(msg({ type: 'timeoutNow', from: 'a', to: 'b', term: b.currentTerm() }));
  c.filter = () => false;
  c.stabilize();
  b.step(msg({ type: 'voteResp', from: 'c', to: 'b', term: b.currentTerm() }));
  t.equal(b.currentRole(), 'leader');
  b.readIndex(enc('early'));
  c.stabilize();
  t.same(c.get('b').readStates, [], 'held while the no-op is uncommitted');
  c.heal();
  c.isolate('a');
  c.tick('b');
  c.stabilize();
  t.same(c.get('b').readStates.map((r) => [dec(r.context), r.index]), [['early', b.commitIndex()]]);
});

t.test('ReadIndex lease mode requires check-quorum and answers without a round trip', async (t) => {
  t.throws(() => new RaftNode({ ...testConfig('a'), readOnly: 'lease', checkQuorum: false }, {
    hardState: { term: 0, vote: '', commit: 0 }, snapshotMeta: null, entries: [], conf: { voters: ['a'], learners: [], votersOutgoing: [] },
  }));
  const c = new Cluster(['a', 'b', 'c'], { readOnly: 'lease' });
  c.raft('a').campaign();
  c.stabilize();
  c.raft('a').readIndex(enc('l'));
  c.drain('a');
  t.same(c.get('a').readStates.map((r) => dec(r.context)), ['l']);
});

t.test('leadership transfer: the caught-up transferee takes over; proposals are refused meanwhile', async (t) => {
  const c = elected(['a', 'b', 'c']);
  const a = c.raft('a');
  c.filter = (m) => m.to !== 'c'; // c lags behind
  a.propose(enc('p'));
  c.stabilize();
  t.ok(a.transferLeadership('c').ok);
  t.same(a.propose(enc('q')), { ok: false, reason: 'transferring', leaderId: 'a' });
  t.same(c.sent.filter((m) => m.type === 'timeoutNow'), [], 'no TimeoutNow before c is caught up');
  c.heal();
  c.stabilize();
  t.equal(c.leader(), 'c');
  t.equal(a.currentRole(), 'follower');
  t.same(c.raft('b').transferLeadership('a'), { ok: false, reason: 'not-leader', leaderId: 'c' });
});

t.test('leadership transfer: abandoned after an election timeout when the transferee is unreachable', async (t) => {
  const c = elected(['a', 'b', 'c']);
  c.isolate('c');
  const a = c.raft('a');
  a.transferLeadership('c');
  t.equal(a.status().leadTransferee, 'c');
  for (let i = 0; i < 10; i++) {
    c.tick('a');
    c.tick('b');
    c.stabilize();
  }
  t.equal(a.status().leadTransferee, '');
  t.equal(a.currentRole(), 'leader');
  t.ok(a.propose(enc('ok')).ok, 'proposals accepted again');
});

t.test('uncommitted cap: proposals beyond maxUncommittedBytes are refused until entries commit', async (t) => {
  const c = new Cluster(['a', 'b', 'c'], { maxUncommittedBytes: 10 });
  c.raft('a').campaign();
  c.stabilize();
  c.filter = () => false; // nothing commits
  const a = c.raft('a');
  t.ok(a.propose(enc('12345')).ok);
  t.ok(a.propose(enc('67890')).ok);
  t.same(a.propose(enc('x')), { ok: false, reason: 'uncommitted-limit', leaderId: 'a' });
  c.heal();
  c.tickAll();
  c.stabilize();
  t.ok(a.propose(enc('x')).ok, 'accepted once the earlier entries committed and applied');
});

t.test('replication: appends are batched up to maxEntriesBytesPerMsg and pipelined up to maxInflightMsgs', async (t) => {
  const c = new Cluster(['a', 'b', 'c'], { maxEntriesBytesPerMsg: 10, maxInflightMsgs: 3 });
  c.raft('a').campaign();
  c.stabilize();
  c.take();
  const a = c.raft('a');
  for (let i = 0; i < 20; i++) a.propose(enc('12345'));
  const apps = sentBy(c, 'a', 'app').filter((m) => m.to === 'b');
  t.equal(apps.length, 3, 'three messages in flight, then the window is full');
  t.ok(apps.every((m) => m.entries.length === 2), 'two 5-byte entries per 10-byte message');
});
