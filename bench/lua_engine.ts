// Runs/s of the real engine (sandbox, per-run environment, conversions, limits on) on lock scripts
// against the in-memory fake host used by the tests. Run: npx tsc -p . && node dist/bench/lua_engine.js

import { createLuaEngine } from '../src/locks/scripting';
import { CLIENT_SCRIPTS } from '../test/scripting/client_scripts';
import { FakeHost } from '../test/scripting/fake_host';

function timeRuns(label: string, runOnce: () => unknown, seconds = 2): void {
  for (let i = 0; i < 2000; i++) runOnce();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(seconds * 1e9);
  let runs = 0;
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 500; i++) runOnce();
    runs += 500;
  }
  const rate = runs / (Number(process.hrtime.bigint() - start) / 1e9);
  console.log(`${label.padEnd(52)} ${Math.round(rate).toString().padStart(9)} runs/s`);
}

const t0 = process.hrtime.bigint();
const engine = createLuaEngine();
console.log(`engine start-up: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);

const host = new FakeHost();
host.calls.length = 0;
const lock = CLIENT_SCRIPTS['redlock-v4.2.0-lockScript'];
const unlock = CLIENT_SCRIPTS['redlock-v4.2.0-unlockScript'];
const acquire = CLIENT_SCRIPTS['semaphore-v5.7.0-semaphore-acquire-numkeys1'];
const multi = CLIENT_SCRIPTS['semaphore-v5.7.0-multiSemaphore-acquire-numkeys1'];
const value = '0123456789abcdef0123456789abcdef';
const now = String(host.nowMs);

timeRuns('redlock 4.2.0 lock + unlock pair (1 key), per script', () => {
  engine.run(lock.body, ['k1'], [value, '10000'], host, { readOnly: false, sha: lock.sha });
  engine.run(unlock.body, ['k1'], [value], host, { readOnly: false, sha: unlock.sha });
  host.calls.length = 0;
});
timeRuns('redis-semaphore acquire', () => {
  engine.run(acquire.body, ['sem'], ['1000000000', 'id-1', '10000', now], host, { readOnly: false, sha: acquire.sha });
  host.calls.length = 0;
});
timeRuns('redis-semaphore multi acquire (3 permits)', () => {
  engine.run(multi.body, ['msem'], ['1000000000', '3', 'id-1', '10000', now], host, { readOnly: false, sha: multi.sha });
  host.calls.length = 0;
});
const loop = 'local s = 0 for i = 1, 1000000 do s = s + i % 7 end return s';
timeRuns('1M-iteration arithmetic loop', () => engine.run(loop, [], [], host, { readOnly: false, sha: 'loop' }), 3);
