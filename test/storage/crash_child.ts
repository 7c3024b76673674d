// Child process of crash.test: saves the model's steps in a loop, one at a time, and reports each
// step over IPC before starting it and after its save() resolved, until the parent kills it.

import { RaftStorage } from '../../src/raft/storage/raft_storage';
import { initialModel, step } from './crash_model';

async function main(): Promise<void> {
  const dir = process.argv[2];
  const storage = await RaftStorage.open(dir, { nodeId: 'n1', clusterId: 'crash' });
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
