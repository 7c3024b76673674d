// Child process of crash.test: saves the model's steps in a loop, one at a time, and reports each
// step over IPC after its save() resolved, until the parent kills it. Its WAL segments are tiny
// (crashSegmentBytes) so that rollovers and the deletion of segments a snapshot covers happen
// many times in a round, and a kill can land in the middle of either.

import { RaftStorage } from '../../src/raft/storage/raft_storage';
import { crashSegmentBytes, initialModel, step } from './crash_model';

async function main(): Promise<void> {
  const dir = process.argv[2];
  const storage = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'crash' }, { walSegmentBytes: crashSegmentBytes });
  const model = initialModel();
  for (let s = 1; ; s++) {
    const update = step(model, s);
    await storage.save(update);
    process.send!({ done: s });
  }
}

main().catch((error) => {
  process.stderr.write(`crash_child: ${(error as Error).stack}\n`);
  process.exit(1);
});
