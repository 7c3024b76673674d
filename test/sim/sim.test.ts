// Runs the deterministic simulator inside `npm test`: 2,000 seeded schedules of a correct core
// must all pass every safety checker and converge once healed; and each deliberately broken core
// variant (a config-only bug knob) must be caught within a bounded number of seeds, which shows the
// checkers can fail. A failure prints the seed and the command that replays it.

import t from 'tap';
import type { RaftBugs } from '../../src/raft/raft_node';
import { runSchedule } from './simulator';

const SCHEDULES = 2000;

t.test(`${SCHEDULES} seeded schedules pass every safety checker and converge`, async (t) => {
  let failure: string | null = null;
  let acked = 0;
  let faults = 0;
  for (let seed = 1; seed <= SCHEDULES && failure === null; seed++) {
    const r = runSchedule({ seed });
    acked += r.stats.acked;
    faults += r.stats.crashes + r.stats.partitions + r.stats.dropped + r.stats.pauses;
    if (!r.ok) failure = `seed ${seed}: ${r.error}\nreproduce: SIM_SEED=${seed} SIM_SEEDS=1 npm run sim`;
  }
  t.equal(failure, null, failure ?? 'all schedules passed');
  t.ok(acked > 10_000, `the schedules acknowledged writes (${acked})`);
  t.ok(faults > 10_000, `and injected faults (${faults})`);
});

const variants: Array<[keyof RaftBugs, number, RegExp]> = [
  ['grantVoteTwice', 100, /vote|two leaders/],
  ['noPreVoteTermCheck', 100, /two leaders|leader completeness|state machine safety|core assertion/],
  ['commitPreviousTermByCounting', 6000, /state machine safety|leader completeness|stale read|acknowledged|log matching|core assertion/],
  // The leader sends before its own write is durable (as the driver does); counting itself early is
  // unsafe. Caught at seed 1636 before fast failover, 2622 with it, 2882 since a removed
  // node campaigns to hand over (seed 2622's schedule changed after the heal): the entry is lost only if the
  // restarted old leader votes for a follower that lacks it, and followers that campaign as soon as
  // the leader is gone have usually elected the one that holds it by then.
  ['countSelfBeforePersist', 4000, /state machine safety|leader completeness|stale read|acknowledged|log matching|core assertion/],
  // Fast failover's forgetLeader() must forget only the leader, never the vote of the term.
  ['forgetLeaderClearsVote', 2000, /vote|two leaders/],
];

for (const [bug, seedsMax, kind] of variants) {
  t.test(`the broken variant ${bug} is caught within ${seedsMax} seeds`, async (t) => {
    let caught: string | null = null;
    let seed = 1;
    for (; seed <= seedsMax && caught === null; seed++) {
      const r = runSchedule({ seed, bugs: { [bug]: true } });
      if (!r.ok) caught = r.error!;
    }
    t.not(caught, null, `${bug} caught at seed ${seed - 1}: ${caught}`);
    t.match(caught ?? '', kind, 'by a safety checker');
  });
}
