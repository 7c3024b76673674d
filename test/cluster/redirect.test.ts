// Proves redirect mode from a client's side: on a 3-node cluster whose nodes run with
// --follower-mode redirect, a follower answers a write with exactly `-MOVED 0 <leader host:port>`
// (the leader's client address, not its Raft address) and does not execute it, and
// `redis-cli -c` pointed at the follower follows the redirect: its SET and LOCK land on the
// leader and are visible everywhere. Reads on a follower are served there (ReadIndex), no MOVED.
// After a kill -9 of the leader, the same redis-cli -c command on a survivor lands on the new one.

import t from 'tap';
import { execFile } from 'node:child_process';
import { Cluster, command, RespError } from '../helpers/cluster';

function redisCli(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-c', '-p', String(port), ...args], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli ${args.join(' ')}: ${error.message} ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

t.test('a redirect-mode follower answers writes with MOVED 0 <leader>, and redis-cli -c follows it', async (t) => {
  const cluster = await Cluster.start(t, { nodeArgs: () => ['--follower-mode', 'redirect'] });
  const leader = await cluster.leader();
  const follower = [...cluster.nodes.values()].find((n) => n.id !== leader.id)!;

  const moved = await command(follower.port, ['SET', 'redirected', 'from-follower']);
  t.ok(moved instanceof RespError, 'the follower refuses the write itself');
  t.equal((moved as Error).message, `MOVED 0 127.0.0.1:${leader.port}`, 'the error names slot 0 and the leader client address');
  t.equal(await command(leader.port, ['GET', 'redirected']), null, 'the redirected write was not executed');

  t.equal(await redisCli(follower.port, ['SET', 'via-cli', 'hello']), 'OK', 'redis-cli -c follows MOVED and the SET succeeds');
  t.equal(await command(leader.port, ['GET', 'via-cli']), 'hello', 'the leader has the value');
  t.equal(await command(follower.port, ['GET', 'via-cli']), 'hello', 'a follower serves the read itself, without MOVED');

  const token = await redisCli(follower.port, ['LOCK', 'cli-lock', 'owner-1', '10000']);
  t.match(token, /^\d+$/, `LOCK through the redirect returns a fencing token (${token})`);
  t.equal(await redisCli(follower.port, ['LOCK', 'cli-lock', 'owner-2', '10000']), '', 'a second owner gets nil');
  t.equal(await redisCli(follower.port, ['UNLOCK', 'cli-lock', 'owner-1']), '1', 'the holder releases it');

  await cluster.kill(leader.id);
  const fresh = await cluster.leader(cluster.aliveIds());
  const survivor = fresh.id === follower.id ? [...cluster.nodes.values()].find((n) => n.id !== leader.id && n.id !== fresh.id)! : follower;
  const moved2 = await command(survivor.port, ['SET', 'after-failover', 'x']);
  t.equal((moved2 as Error).message, `MOVED 0 127.0.0.1:${fresh.port}`, `after the failover ${survivor.id} redirects to the new leader ${fresh.id}`);
  t.equal(await redisCli(survivor.port, ['SET', 'after-failover', 'yes']), 'OK', 'redis-cli -c follows it');
  t.equal(await command(fresh.port, ['GET', 'after-failover']), 'yes', 'the new leader has the value');
});
