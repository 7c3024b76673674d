// redis-server from Debian's package, on a free loopback port, in its own temp dir: either with no
// persistence at all, or with an append-only file fsynced on every write (the fair single-node
// comparison for a lock server whose writes are durable when acknowledged). The one node ('r1')
// can be stopped and started again on the same dir, so the AOF is reloaded (workload 5).

import { execFileSync } from 'node:child_process';
import { freePort, tempDir, waitFor, ping } from '../../test/helpers/net';
import { removeDir, spawnTracked, trackDir, type Tracked } from './processes';
import type { Target } from './target';

export function ensureRedis(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    execFileSync('redis-benchmark', ['--version'], { stdio: 'ignore' });
  } catch {
    console.log('redis-server/redis-benchmark missing: apt-get install -y redis-server redis-tools');
    execFileSync('sh', ['-c', 'apt-get update -q && apt-get install -y -q redis-server redis-tools'], { stdio: 'inherit' });
  }
}

export async function startRedis(options: { appendfsyncAlways: boolean }): Promise<Target> {
  ensureRedis();
  const port = await freePort();
  const dir = trackDir(tempDir('quorumlock-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--protected-mode', 'no'];
  if (options.appendfsyncAlways) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  let proc: Tracked | null = null;
  const launch = async (): Promise<void> => {
    const p = spawnTracked('redis-server', args);
    proc = p;
    await waitFor(`redis-server on ${port}`, async () => {
      if (p.child.exitCode !== null) throw new Error(`redis-server exited: ${p.log()}`);
      return ping(port);
    }, 60_000, 20);
  };
  await launch();
  const running = (): boolean => proc !== null && proc.child.exitCode === null && proc.child.signalCode === null;
  return {
    name: options.appendfsyncAlways ? 'redis-aof-always' : 'redis',
    kind: 'redis',
    host: '127.0.0.1',
    port,
    nodes: {
      ids: ['r1'],
      port: () => port,
      pid: () => {
        if (!running() || proc?.child.pid === undefined) throw new Error('redis-server is not running');
        return proc.child.pid;
      },
      isRunning: running,
      leader: async () => 'r1',
      signal: async (_id, signal) => {
        await proc?.signal(signal);
      },
      start: async () => {
        if (running()) throw new Error('redis-server is still running');
        await launch();
      },
      caughtUp: async () => undefined,
    },
    async stop() {
      await proc?.stop();
      removeDir(dir);
    },
  };
}
