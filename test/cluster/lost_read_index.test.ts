// Proves a linearizable read on a follower whose ReadIndex request to the leader is lost gets an
// answer (TRYAGAIN: nothing was read) instead of hanging, and that the connection keeps working.
// The follower's link to the leader drops everything while the leader's link to it still works,
// so the follower keeps the same leader and only a timeout can end the wait.
//
// Once a bug (found by the fault suite): such a read was never answered, and since replies on a
// connection go out in order, every later command on that connection hung with it.

import t from 'tap';
import { Cluster, RawConnection } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';

t.test('a read whose ReadIndex request is lost is answered, not left hanging', async (t) => {
  const cluster = await Cluster.start(t, { proxies: true });
  const leader = await cluster.leader();
  const follower = [...cluster.nodes.values()].find((n) => n.id !== leader.id)!;
  const conn = await RawConnection.connect(follower.port);
  t.teardown(() => conn.close());
  t.equal(await conn.call(['SET', 'k', 'v']), 'OK');
  t.equal(await conn.call(['GET', 'k']), 'v', 'a follower read through ReadIndex');

  await cluster.cut(follower.id, leader.id, 'drop');
  const reply = await conn.call(['GET', 'k'], 15_000).then(String, (error: Error) => `no answer: ${error.message}`);
  t.match(reply, /^(Error|error): TRYAGAIN the leader did not confirm the read in time/, `answered: ${reply}`);

  await cluster.heal();
  await waitFor('reads on the follower again', async () => (await conn.call(['GET', 'k'], 5000)) === 'v', 15_000);
  t.pass('and the same connection serves reads again');
});
