// The CLI entry point: parse, then run. `serve` runs until SIGTERM/SIGINT, then shuts down cleanly.

import { createLogger } from '../server/log';
import { Server } from '../server/server';
import { parseArgs, USAGE, UsageError } from './args';
import { parseClusterArgs, runDevCluster } from './dev_cluster';

const VERSION = '0.1.0';

export function main(argv: string[]): void {
  if (argv[0] === 'cluster') {
    try {
      runDevCluster(parseClusterArgs(argv.slice(1)));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      process.stderr.write(`quorumlock: ${error.message}\n`);
      process.exit(2);
    }
    return;
  }
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`quorumlock: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (parsed.command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (parsed.command === 'version') {
    process.stdout.write(`quorumlock ${VERSION}\n`);
    return;
  }
  const logger = createLogger(parsed.config.logLevel, { node: parsed.config.nodeId });
  const server = new Server(parsed.config, logger);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('signal received, shutting down', { signal });
    server.stop().then(
      () => process.exit(process.exitCode ?? 0),
      (error: Error) => {
        logger.error('shutdown failed', { err: error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  server.start().catch((error: Error & { code?: string }) => {
    logger.error('quorumlock could not start', { err: error, code: error.code });
    process.exit(1);
  });
}
