// `quorumlock cluster --nodes 3 [--port 7001]`: a local development cluster in one command.
//
// Starts N `serve` processes on 127.0.0.1: client ports port..port+N-1, Raft ports 10000 above
// them, data in <data-dir>/<node-id>. Their logs are prefixed and interleaved on stderr. Ctrl-C
// or SIGTERM stops them all.

import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { UsageError } from './args';

export interface DevClusterOptions {
  nodes: number;
  port: number;
  dataDir: string;
  extraArgs: string[];
}

export function parseClusterArgs(argv: string[]): DevClusterOptions {
  const options: DevClusterOptions = { nodes: 3, port: 7001, dataDir: './data/cluster', extraArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    const integer = (min: number, max: number): number => {
      if (value === undefined || !/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
        throw new UsageError(`${arg} needs an integer between ${min} and ${max}`);
      }
      i++;
      return Number(value);
    };
    if (arg === '--nodes') options.nodes = integer(1, 9);
    else if (arg === '--port') options.port = integer(1, 55000);
    else if (arg === '--data-dir') {
      if (value === undefined) throw new UsageError('--data-dir needs a value');
      options.dataDir = value;
      i++;
    } else options.extraArgs.push(arg);
  }
  return options;
}

export function runDevCluster(options: DevClusterOptions): void {
  const bin = path.resolve(__dirname, '..', '..', '..', 'bin', 'quorumlock');
  const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  const peers = ids.map((id, i) => `${id}=127.0.0.1:${options.port + i + 10000}`).join(',');
  const children: ChildProcess[] = [];
  ids.forEach((id, i) => {
    const port = options.port + i;
    // Through the launcher, as an operator would run each node (it sets glibc's malloc options).
    const child = spawn(
      bin,
      ['serve', '--node-id', id, '--port', String(port), '--raft-port', String(port + 10000), '--peers', peers,
        '--data-dir', path.join(options.dataDir, id), ...options.extraArgs],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    children.push(child);
    child.on('exit', (code, signal) => process.stderr.write(`quorumlock cluster: ${id} exited (${signal ?? code})\n`));
  });
  process.stdout.write(
    `quorumlock cluster: ${options.nodes} nodes on 127.0.0.1 ports ${options.port}..${options.port + options.nodes - 1}` +
      ` (Raft ${options.port + 10000}..${options.port + 10000 + options.nodes - 1}), data in ${options.dataDir}\n` +
      `try: redis-cli -p ${options.port} INFO raft\n`,
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
    let left = children.length;
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) left--;
      else child.once('exit', () => --left === 0 && process.exit(0));
    }
    if (left === 0) process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
