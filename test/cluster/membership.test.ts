// Proves that membership changes under load lose nothing. 20 contenders (ioredis Cluster clients)
// increment one shared counter: LOCK, GET, a write guarded by lock ownership (EVAL: SET only if
// the lock key still holds our owner), UNLOCK. Meanwhile n4 and n5 join (started with --join,
// admitted with RAFT.ADDNODE, promoted once caught up), two founders are removed with
// RAFT.REMOVENODE (one follower, then the leader itself), and leadership is handed over with
// RAFT.TRANSFER. At the end the counter equals the number of increments that were acknowledged
// (or, after an UNCERTAIN reply, read back), and every remaining node holds the same value.
// Nodes snapshot every 200 entries, so the new nodes catch up from a snapshot plus the log.

import t from 'tap';
import type { Cluster as RedisCluster } from 'ioredis';
import { Cluster, command, RespError } from '../helpers/cluster';
import { waitFor } from '../helpers/servers';
import { clusterClient } from './clients';
import { describeErrors } from './load';
import { setTimeout as sleep } from 'node:timers/promises';

const LOCK = '{ctr}:lock';
const VALUE = '{ctr}:value';
const GUARDED_SET = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2]) return 1 else return 0 end";

class Contention {
  completed = 0;
  attempts = 0;
  lostLeases = 0;
  readonly errors = new Map<string, number>();
  private stopping = false;
  private running: Promise<void>[] = [];

  start(clients: RedisCluster[], contenders: number): void {
    this.running = Array.from({ length: contenders }, (_, i) => this.contend(clients[i % clients.length], i));
  }

  private note(error: unknown): void {
    const kind = String((error as Error).message).split(' ').slice(0, 2).join(' ');
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  /** A linearizable GET, retried through elections. */
  private async read(client: RedisCluster): Promise<string | null> {
    for (let i = 0; ; i++) {
      try {
        return await client.get(VALUE);
      } catch (error) {
        this.note(error);
        if (i > 200) throw error;
        await sleep(20);
      }
    }
  }

  private async contend(client: RedisCluster, id: number): Promise<void> {
    for (let n = 0; !this.stopping; n++) {
      const owner = `c${id}-${n}`;
      this.attempts++;
      let token: unknown;
      try {
        token = await client.call('LOCK', LOCK, owner, 3000);
      } catch (error) {
        this.note(error);
        await client.call('UNLOCK', LOCK, owner).catch(() => undefined);
        await sleep(20);
        continue;
      }
      if (token === null) {
        await sleep(5 + Math.random() * 10);
        continue;
      }
      try {
        const current = await client.get(VALUE);
        const next = `${current === null ? 1 : Number(current.split('|')[0]) + 1}|${owner}`;
        try {
          const applied = await client.eval(GUARDED_SET, 2, LOCK, VALUE, owner, next);
          if (applied === 1) this.completed++;
          else this.lostLeases++;
        } catch (error) {
          // CLUSTERDOWN: not executed. UNCERTAIN: a linearizable read tells; an entry a leader
          // did not keep is never committed later, so what we read now is final.
          this.note(error);
          if ((await this.read(client)) === next) this.completed++;
        }
      } catch (error) {
        this.note(error);
      }
      await client.call('UNLOCK', LOCK, owner).catch((error: unknown) => this.note(error));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }
}

async function admin(port: number, argv: string[]): Promise<string> {
  const reply = await command(port, argv, 5000);
  if (reply instanceof RespError) throw new Error(`${argv.join(' ')}: ${reply.message}`);
  return String(reply);
}

t.test('add two nodes, remove two founders (the leader too) and transfer leadership under a contention load', async (t) => {
  const cluster = await Cluster.start(t, { nodeArgs: () => ['--snapshot-entries', '200'] });
  const clients = Array.from({ length: 4 }, () => clusterClient(cluster, 20_000));
  t.teardown(() => clients.forEach((c) => c.disconnect()));

  const load = new Contention();
  load.start(clients, 20);
  await waitFor('increments flowing', () => load.completed >= 30, 30_000);

  const progress = async (what: string): Promise<void> => {
    const before = load.completed;
    await waitFor(`increments to go on after ${what}`, () => load.completed >= before + 10, 30_000);
    t.comment(`${what}: ${load.completed} increments so far`);
  };

  let leader = await cluster.leader();
  await waitFor('a snapshot on the leader', async () => Number((await cluster.info(leader.id)).raft_snapshot_index) > 0, 30_000);
  await cluster.join('n4', leader.id);
  await cluster.waitVoters(['n1', 'n2', 'n3', 'n4'], cluster.aliveIds());
  await progress('n4 joined');
  leader = await cluster.leader();
  await cluster.join('n5', leader.id);
  await cluster.waitVoters(['n1', 'n2', 'n3', 'n4', 'n5'], cluster.aliveIds());
  await progress('n5 joined');
  t.pass('n4 and n5 joined and were promoted to voters');

  // Remove a founder that is not the leader.
  leader = await cluster.leader();
  const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader.id)!;
  await admin(leader.port, ['RAFT.REMOVENODE', follower]);
  let voters = ['n1', 'n2', 'n3', 'n4', 'n5'].filter((id) => id !== follower);
  await cluster.waitVoters(voters, voters);
  await cluster.signal(follower, 'SIGTERM');
  await progress(`${follower} removed`);

  // Remove the leader itself; if the leader is a new node, first hand leadership to a founder.
  leader = await cluster.leader(voters);
  if (leader.id === 'n4' || leader.id === 'n5') {
    const founder = voters.find((id) => id !== 'n4' && id !== 'n5')!;
    await admin(leader.port, ['RAFT.TRANSFER', founder]);
    await waitFor(`${founder} to lead`, async () => (await cluster.leader(voters)).id === founder);
    leader = cluster.node(founder);
  }
  const removedLeader = leader.id;
  await admin(leader.port, ['RAFT.REMOVENODE', removedLeader]);
  voters = voters.filter((id) => id !== removedLeader);
  await cluster.waitVoters(voters, voters);
  const successor = await cluster.leader(voters);
  t.not(successor.id, removedLeader, `the removed leader ${removedLeader} handed over to ${successor.id}`);
  await cluster.signal(removedLeader, 'SIGTERM');
  await progress(`leader ${removedLeader} removed`);

  // Transfer leadership explicitly to a chosen voter.
  const target = voters.find((id) => id !== successor.id)!;
  t.match(await admin(successor.port, ['RAFT.TRANSFER', target]), /^OK/, `RAFT.TRANSFER ${target} accepted`);
  await waitFor(`${target} to lead`, async () => (await cluster.leader(voters)).id === target);
  t.pass(`leadership moved to ${target}`);
  await progress(`transfer to ${target}`);

  await load.stop();
  t.comment(`${load.completed} increments in ${load.attempts} attempts, ${load.lostLeases} lost leases; errors: ${describeErrors(load.errors)}`);
  await cluster.converged(voters);
  const values = await Promise.all(voters.map(async (id) => (await cluster.localValues(id, VALUE)).get(VALUE) ?? null));
  t.equal(new Set(values).size, 1, `every remaining node (${voters.join(',')}) holds the same counter: ${values[0]}`);
  t.equal(Number(String(values[0]).split('|')[0]), load.completed, 'the counter equals the number of completed increments');
  for (const id of ['n4', 'n5']) {
    t.ok(Number((await cluster.info(id)).raft_snapshot_index) > 0, `${id} holds a snapshot (installed from the leader or taken itself)`);
  }
  const info = await cluster.info(voters[0]);
  t.equal(info.raft_voters.split(',').sort().join(','), [...voters].sort().join(','), `the membership is ${voters.join(',')}`);
});
