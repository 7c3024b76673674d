// Every process and temp dir the benchmark starts is registered here, so nothing is left running:
// normal stop, a thrown error, process exit and Ctrl-C (SIGINT/SIGTERM) all kill what is still alive
// and remove the temp dirs. 'exit' handlers must be synchronous, hence SIGKILL and rmSync there.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

function killAllSync(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
}

process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllSync();
    process.exit(130);
  });
}

/** A spawned process whose output is kept (the last 64 KiB) for error messages. */
export interface Tracked {
  readonly child: ChildProcess;
  log(): string;
  /** SIGKILL and wait for the exit. */
  stop(): Promise<void>;
  /** Sends `signal` (if still running) and waits for the exit. */
  signal(signal: NodeJS.Signals): Promise<void>;
}

export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): Tracked {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  let log = '';
  const append = (d: Buffer): void => {
    log += d.toString();
    if (log.length > 65536) log = log.slice(-32768);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => children.delete(child));
  return {
    child,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async signal(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Registers a process started elsewhere (the quorumlock test Cluster) for the exit/signal kill. */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function trackDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}
