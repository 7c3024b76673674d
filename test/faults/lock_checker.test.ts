// Proves the lock checker flags what a fenced-lock user must never see, and nothing else: two
// acquisitions with one token, a later acquisition with a smaller token, a holder acknowledged while
// an earlier lease ran; and accepts a hand-over after UNLOCK or after the lease ran out, and an early
// hand-over by at most the clock offset of a clock fault around it.

import t from 'tap';
import { checkLocks, type Acquisition } from './lock_checker';

const hold = (owner: string, token: number, sendMs: number, ackMs: number, releaseMs = Infinity, ttlMs = 1000): Acquisition => ({ key: 'l', owner, token, sendMs, ackMs, releaseMs, ttlMs });

t.test('valid hand-overs pass', async (t) => {
  t.same(checkLocks([hold('a', 5, 0, 10, 50), hold('b', 6, 40, 60)], []), [], 'after UNLOCK was sent');
  t.same(checkLocks([hold('a', 5, 0, 10), hold('b', 6, 900, 1001)], []), [], 'after the lease (sent + ttl) ran out');
  t.same(checkLocks([hold('a', 5, 0, 10), { ...hold('b', 9, 0, 10), key: 'other' }], []), [], 'different locks are independent');
});

t.test('violations are reported', async (t) => {
  t.match(checkLocks([hold('a', 5, 0, 10, 50), hold('b', 5, 100, 110)], []), [/token 5 given to both a and b/], 'one token twice');
  t.match(checkLocks([hold('a', 7, 0, 10, 20), hold('b', 6, 30, 40, 50)], []), [/b sent LOCK at 30 ms and got token 6, not above 7/], 'a later acquisition with a smaller token');
  t.match(checkLocks([hold('a', 5, 0, 10), hold('b', 6, 500, 600)], []), [/b held it \(token 6.*while a .*still held it for 400 ms/], 'a holder acknowledged inside an earlier lease');
});

t.test('a clock fault allows leases to end early by its offset, no more', async (t) => {
  const skew = [{ startMs: 0, endMs: 2000, offsetMs: -300 }];
  t.same(checkLocks([hold('a', 5, 0, 10), hold('b', 6, 650, 750)], skew), [], '250 ms early, with a 300 ms offset');
  t.equal(checkLocks([hold('a', 5, 0, 10), hold('b', 6, 500, 600)], skew).length, 1, '400 ms early is still a violation');
  t.equal(checkLocks([hold('a', 5, 5000, 5010), hold('b', 6, 5650, 5750)], skew).length, 1, 'no tolerance for leases long after the fault');
});
