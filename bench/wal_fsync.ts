// What one synced save() costs when three nodes share a disk (a 3-node cluster on one box): three
// child processes at once, each doing N sequential save()s of one ~200-byte entry and its hard
// state through RaftStorage, synced, each in its own storage directory. Prints p50/p90/p99 µs per
// save for each process and for all together. Prints only; asserts nothing.
//
// Run: npx tsc -p . && node dist/bench/wal_fsync.js [--saves 2000] [--processes 3]
//        [--segment-bytes N] [--storage /path/to/raft_storage.js] [--dir /path/on/the/disk/to/measure]
// --storage measures another build of RaftStorage (e.g. an older, LevelDB-only one) for comparison.

import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { flag } from './flags';

interface ChildArgs {
  readonly dir: string;
  readonly storage: string;
  readonly saves: number;
  readonly segmentBytes: number | undefined;
}

type FromChild = { ready: true } | { micros: number[] };

const warmupSaves = 50;

async function child(args: ChildArgs): Promise<void> {
  const { RaftStorage } = require(args.storage) as typeof import('../src/raft/storage/raft_storage');
  const storage = await RaftStorage.open(args.dir, { nodeId: 'n1', clusterId: 'bench' }, { walSegmentBytes: args.segmentBytes });
  const data = Buffer.alloc(200, 0x61);
  let index = 0;
  const save = async () => {
    index++;
    await storage.save({ hardState: { term: 1, vote: 'n1', commit: index - 1 }, entries: [{ index, term: 1, type: 0, data }] });
    // As the driver does once the entry commits: the commit index alone, unsynced, not awaited.
    if (process.env.WAL_FSYNC_COMMIT_WRITES) void storage.save({ hardState: { term: 1, vote: 'n1', commit: index }, sync: false });
  };
  for (let i = 0; i < warmupSaves; i++) await save();
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    process.send!({ ready: true } satisfies FromChild);
  });
  const micros: number[] = [];
  for (let i = 0; i < args.saves; i++) {
    const started = process.hrtime.bigint();
    await save();
    micros.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  await storage.close();
  process.send!({ micros } satisfies FromChild, () => process.exit(0));
}

function percentiles(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  const mean = Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length);
  return `p50 ${at(0.5)}  p90 ${at(0.9)}  p99 ${at(0.99)}  max ${Math.round(sorted[sorted.length - 1])}  mean ${mean}`;
}

async function main(): Promise<void> {
  const saves = Number(flag('saves', '2000'));
  const processes = Number(flag('processes', '3'));
  const segmentBytes = flag('segment-bytes', undefined);
  const storage = path.resolve(flag('storage', path.join(__dirname, '../src/raft/storage/raft_storage.js')));
  const root = fs.mkdtempSync(path.join(flag('dir', os.tmpdir()), 'quorumlock-wal-fsync-'));
  const children = [];
  try {
    for (let i = 0; i < processes; i++) {
      const args: ChildArgs = { dir: path.join(root, `n${i + 1}`), storage, saves, segmentBytes: segmentBytes === undefined ? undefined : Number(segmentBytes) };
      children.push(fork(__filename, ['--child', JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
    const ready = children.map((c) => new Promise<void>((resolve) => c.once('message', () => resolve())));
    const results = children.map(
      (c) =>
        new Promise<number[]>((resolve, reject) => {
          c.on('message', (msg: FromChild) => {
            if ('micros' in msg) resolve(msg.micros);
          });
          c.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`a bench child exited with code ${code}`))));
        }),
    );
    await Promise.all(ready);
    // All start together, so their fsyncs overlap for the whole run.
    for (const c of children) c.send('go');
    const all = await Promise.all(results);
    console.log(`${processes} processes x ${saves} synced saves of one 200-byte entry; µs per save (${storage})`);
    all.forEach((micros, i) => console.log(`  process ${i + 1}: ${percentiles(micros)}`));
    console.log(`  all:       ${percentiles(all.flat())}`);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  child(JSON.parse(process.argv[childAt + 1]) as ChildArgs).catch((error) => {
    process.stderr.write(`wal_fsync child: ${(error as Error).stack}\n`);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    process.stderr.write(`wal_fsync: ${(error as Error).stack}\n`);
    process.exitCode = 1;
  });
}
