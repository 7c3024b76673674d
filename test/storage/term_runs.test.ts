// Proves that TermRuns (the in-memory index range and terms save() consults to keep or discard the
// entries after a snapshot) answers exactly like a plain array of the entries would, over long
// random sequences of appends (with suffix overwrites), snapshots (drop through an index) and
// clears, from one seeded PRNG so a failure reproduces.

import t from 'tap';
import { TermRuns } from '../../src/raft/storage/term_runs';
import { EntryType, type Entry } from '../../src/raft/types';

function prng(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

function entries(from: number, count: number, term: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ index: from + i, term, type: EntryType.Normal, data: new Uint8Array(0) }));
}

t.test('TermRuns matches an array model of the log', async (t) => {
  for (const seed of [1, 2, 3, 42, 2026]) {
    const random = prng(seed);
    const runs = TermRuns.empty(1);
    let model: Entry[] = [];
    let next = 1; // the next index when the model is empty
    let term = 1;
    let mismatches = 0;
    for (let op = 0; op < 3000; op++) {
      const first = model.length > 0 ? model[0].index : next;
      const last = model.length > 0 ? model[model.length - 1].index : next - 1;
      const r = random();
      if (r < 0.6) {
        // Append, or overwrite a suffix with a newer term.
        const overwrite = model.length > 0 && random() < 0.3;
        if (overwrite) term++;
        const from = overwrite ? first + Math.floor(random() * model.length) : last + 1;
        const fresh = entries(from, 1 + Math.floor(random() * 5), term);
        runs.append(fresh);
        model = model.filter((e) => e.index < from).concat(fresh);
      } else if (r < 0.9) {
        const at = first + Math.floor(random() * (last - first + 3));
        runs.dropThrough(at);
        model = model.filter((e) => e.index > at);
        // Nothing left means at >= last: the next index follows the snapshot.
        if (model.length === 0) next = at + 1;
      } else {
        next = last + 1 + Math.floor(random() * 3);
        runs.clear(next);
        model = [];
      }
      const modelFirst = model.length > 0 ? model[0].index : next;
      const modelLast = model.length > 0 ? model[model.length - 1].index : next - 1;
      if (runs.first !== modelFirst || runs.last !== modelLast) mismatches++;
      for (let i = modelFirst - 2; i <= modelLast + 2; i++) {
        const want = model.find((e) => e.index === i)?.term;
        if (runs.termAt(i) !== want) mismatches++;
      }
      // A clone is independent of the original.
      if (op % 100 === 0) {
        const copy = runs.clone();
        copy.clear(modelLast + 10);
        if (runs.last !== modelLast) mismatches++;
      }
    }
    t.equal(mismatches, 0, `seed ${seed}: range and every term as the model has them`);
  }
});
