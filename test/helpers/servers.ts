// Starting quorumlock for tests: in-process (fast, for command tests) or as a real process
// (for kill -9, SIGTERM and redis-cli tests). Every server gets a fresh temp data dir and free
// ports, and every start registers its own teardown with the test, so nothing is left running.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { defaultConfig, type ServerConfig } from '../../src/server/config';
import { silentLogger } from '../../src/server/log';
import { Server } from '../../src/server/server';
import { freePort, ping, tempDir, waitFor } from './net';

export { freePort, ping, tempDir, waitFor };

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const binPath = path.join(repoRoot, 'bin', 'quorumlock');

/**
 * Spawns `bin/quorumlock <args>` the way an operator runs it (the launcher sets glibc's malloc
 * options, then execs node, so the child's pid is the server's), with this process's node binary
 * and `nodeFlags` (e.g. `--cpu-prof`) for it.
 */
export function spawnQuorumlock(args: string[], options: { nodeFlags?: string[]; stdio: SpawnOptions['stdio']; bin?: string }): ChildProcess {
  return spawn(options.bin ?? binPath, args, { env: launcherEnv(options.nodeFlags), stdio: options.stdio });
}

/** The environment for running `bin/quorumlock` with this process's node binary and `nodeFlags` for it. */
export function launcherEnv(nodeFlags: readonly string[] = []): NodeJS.ProcessEnv {
  return { ...process.env, QUORUMLOCK_NODE: process.execPath, QUORUMLOCK_NODE_FLAGS: nodeFlags.join(' ') };
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** An in-process server on a free port with a temp data dir; stopped at test teardown. */
export async function startServer(t: Teardown, overrides: Partial<ServerConfig> = {}): Promise<Server> {
  const config: ServerConfig = { ...defaultConfig(), port: 0, dataDir: tempDir(), tickMs: 20, ...overrides };
  const server = new Server(config, silentLogger);
  await server.start();
  t.teardown(async () => {
    await server.stop();
    if (!overrides.dataDir) fs.rmSync(config.dataDir, { recursive: true, force: true });
  });
  return server;
}

export interface ServerProcess {
  readonly port: number;
  readonly dataDir: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>;
}

/** Runs `bin/quorumlock serve` as a child process and waits until it answers PING. */
export async function startServerProcess(
  t: Teardown,
  options: { port?: number; dataDir?: string; args?: string[] } = {},
): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? tempDir();
  const raftPort = await freePort();
  const child = spawnQuorumlock(
    ['serve', '--port', String(port), '--data-dir', dataDir, '--raft-port', String(raftPort), '--tick-ms', '20', ...(options.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    // A data dir made here goes too (its WAL segment alone is 64 MiB): left behind, a full test
    // run filled ~10 GB of /tmp.
    if (options.dataDir === undefined) fs.rmSync(dataDir, { recursive: true, force: true });
  });
  await waitFor(`quorumlock on port ${port} to answer PING (output so far: ${output})`, () => ping(port), 15_000, 50);
  return { port, dataDir, child, output: () => output, exited };
}

/** Raw RESP exchange: writes bytes, collects everything the server sends until `until` matches or the socket closes. */
export function rawExchange(port: number, payload: string | Buffer, until: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no matching reply within ${timeoutMs} ms; got ${JSON.stringify(data)}`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (until(data)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', () => undefined);
  });
}
