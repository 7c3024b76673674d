// Memory and speed of the state machine at a million held locks.
//
// Applies N `SET lock:<i> <32 hex> NX PX 30000` entries (what redlock and friends send), forces
// GC, and reports heap and RSS per lock, apply throughput, expiredKeys() cost, and snapshot /
// restore size and time. Run: `node --expose-gc dist/bench/locks_memory.js [N]`.

import { StateMachine } from '../src/locks/state_machine';

const N = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('run with --expose-gc');
  process.exit(1);
}

function settle(): NodeJS.MemoryUsage {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage();
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

/** Strings as the RESP parser makes them: flat latin1 strings decoded from a Buffer. */
function wire(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

function hex32(i: number): string {
  // A distinct 32-char value per lock, like a random owner token.
  const a = (Math.imul(i, 2654435761) >>> 0).toString(16).padStart(8, '0');
  const b = (Math.imul(i ^ 0x5bd1e995, 1597334677) >>> 0).toString(16).padStart(8, '0');
  return wire(a + b + b + a);
}

const events = { publish: () => 0, log: () => {} };
const before = settle();
const sm = new StateMachine({ scriptEngine: null, events });
const T0 = 1_700_000_000_000;

// Commands are built in batches outside the timed section, as the log decoder would hand them over.
const BATCH = 10_000;
let applyNs = 0n;
for (let first = 0; first < N; first += BATCH) {
  const batch = [];
  for (let i = first; i < Math.min(N, first + BATCH); i++) {
    batch.push({ kind: 'cmd' as const, db: 0, argv: [wire('SET'), wire(`lock:${i}`), hex32(i), wire('NX'), wire('PX'), wire('30000')], timeMs: T0 + Math.floor(i / 100) });
  }
  const started = process.hrtime.bigint();
  for (let j = 0; j < batch.length; j++) sm.apply(batch[j], first + j + 1);
  applyNs += process.hrtime.bigint() - started;
}
const applyMs = Number(applyNs) / 1e6;
const after = settle();
const heapPerKey = (after.heapUsed - before.heapUsed) / N;
const rssPerKey = (after.rss - before.rss) / N;

console.log(`locks held:          ${sm.stats().locks}`);
console.log(`apply throughput:    ${Math.round(N / (applyMs / 1000)).toLocaleString()} commands/s (${applyMs.toFixed(0)} ms for ${N})`);
console.log(`heapUsed per lock:   ${heapPerKey.toFixed(0)} bytes (total ${mb(after.heapUsed - before.heapUsed)})`);
console.log(`RSS per lock:        ${rssPerKey.toFixed(0)} bytes (total ${mb(after.rss - before.rss)}, rss now ${mb(after.rss)})`);

// Reads and re-acquires on the full keyspace.
let t = process.hrtime.bigint();
for (let i = 0; i < 200_000; i++) sm.read(0, ['GET', `lock:${(i * 7919) % N}`], T0 + 10_000);
console.log(`read GET:            ${Math.round(200_000 / (Number(process.hrtime.bigint() - t) / 1e9)).toLocaleString()} reads/s`);

t = process.hrtime.bigint();
const expired = sm.expiredKeys(T0 + 40_000, 1000);
console.log(`expiredKeys(1000):   ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(2)} ms, found ${expired[0]?.keys.length ?? 0}`);

t = process.hrtime.bigint();
const data = sm.snapshot();
const snapshotMs = Number(process.hrtime.bigint() - t) / 1e6;
console.log(`snapshot:            ${mb(data.length)} (${(data.length / N).toFixed(1)} bytes/lock) in ${snapshotMs.toFixed(0)} ms`);

const digestStart = process.hrtime.bigint();
const digest = sm.digest();
const digestMs = Number(process.hrtime.bigint() - digestStart) / 1e6;

t = process.hrtime.bigint();
const copy = new StateMachine({ scriptEngine: null, events });
copy.restore(data);
const restoreMs = Number(process.hrtime.bigint() - t) / 1e6;
console.log(`restore:             ${restoreMs.toFixed(0)} ms; digest ${digestMs.toFixed(0)} ms; digests equal: ${copy.digest() === digest}`);
console.log(`peak RSS now:        ${mb(process.memoryUsage().rss)}`);
