// A linearizability checker for one register with read, write and compare-and-delete, in the
// style of Wing & Gong / Lowe (WGL) as Knossos and Porcupine implement it: a depth-first search
// over the order in which operations take effect, with memoisation of (set of operations already
// linearized, register state), so each configuration is explored once.
//
// Why it is written here: npm has no maintained linearizability checker (`linearizability` and
// `knossos` do not exist there; Porcupine and Knossos are Go and Clojure).
//
// Unknown outcomes, as Jepsen treats them: an op that timed out (or got -UNCERTAIN) may take effect
// at any time after its invocation, or never. It is given a return at +infinity and the search
// succeeds once every op with a known outcome is linearized; the unknown ones left over "never
// happened". Unknown reads constrain nothing and are dropped; definite failures are dropped.
//
// On a failure, `minimalWindow` shrinks the history to the shortest time window [a, b] that is
// still not linearizable by itself, relaxing soundly at the cut points: an op that straddles a cut
// becomes unknown (a read is dropped), and the register may start in any state. So the window
// alone proves the anomaly: no linearization of the full history could contain it.

import type { Op } from './history';

/** The register's state: absent (null), a value, or (at the start of a window) anything. */
const ANY = Symbol('any');
type State = string | null | typeof ANY;
const FAIL = Symbol('fail');

export interface RegisterOp {
  readonly id: number;
  readonly f: 'read' | 'write' | 'cad';
  /** write/cad: the value sent; read: the value read. */
  readonly value: string | null;
  /** cad: 1 when it deleted, 0 when not; null when unknown. */
  readonly result: number | null;
  readonly known: boolean;
  readonly invokeMs: number;
  /** Infinity for unknown outcomes. */
  readonly completeMs: number;
}

export type CheckResult =
  | { readonly valid: true; readonly steps: number }
  | { readonly valid: false; readonly steps: number; /** ops linearized in the deepest attempt */ readonly deepest: number }
  | { readonly valid: 'unknown'; readonly steps: number; readonly reason: string };

function step(state: State, op: RegisterOp): State | typeof FAIL {
  switch (op.f) {
    case 'write':
      return op.value;
    case 'read':
      if (state === ANY) return op.value;
      return state === op.value ? state : FAIL;
    case 'cad':
      if (!op.known) {
        if (state === ANY) return ANY; // deleted (null) or not (unchanged): ANY covers both
        return state === op.value ? null : state;
      }
      if (op.result === 1) return state === ANY || state === op.value ? null : FAIL;
      if (state === ANY) return ANY; // "anything but op.value": ANY is a sound over-approximation
      return state === op.value ? FAIL : state;
  }
}

function stateKey(state: State): string {
  return state === ANY ? '\u0001' : state === null ? '\u0002' : `\u0003${state}`;
}

interface Entry {
  readonly call: boolean;
  readonly op: RegisterOp;
  readonly index: number;
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

/**
 * Checks one register's history. `initial` is the state before the first op (null: absent; 'any'
 * for a window cut from a longer history). Gives up with valid 'unknown' after `stepsMax` steps.
 */
export function checkRegister(input: readonly RegisterOp[], options: { initial?: string | null | 'any'; stepsMax?: number } = {}): CheckResult {
  const stepsMax = options.stepsMax ?? 2_000_000;
  const ops = input.filter((op) => op.known || op.f !== 'read');
  const n = ops.length;
  // Entries sorted by time; at equal times calls come first (equal times are concurrent).
  const raw: Array<{ time: number; call: boolean; index: number }> = [];
  ops.forEach((op, index) => {
    raw.push({ time: op.invokeMs, call: true, index });
    raw.push({ time: op.known ? op.completeMs : Infinity, call: false, index });
  });
  raw.sort((a, b) => a.time - b.time || (a.call === b.call ? a.index - b.index : a.call ? -1 : 1));
  const head: Entry = { call: false, op: null as unknown as RegisterOp, index: -1, match: null, prev: null, next: null };
  const calls = new Array<Entry>(n);
  let tail = head;
  for (const r of raw) {
    const entry: Entry = { call: r.call, op: ops[r.index], index: r.index, match: null, prev: tail, next: null };
    tail.next = entry;
    tail = entry;
    if (r.call) calls[r.index] = entry;
    else calls[r.index].match = entry;
  }
  const lift = (e: Entry): void => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Entry): void => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };

  const words = new Uint16Array(Math.ceil(n / 16) || 1);
  const bitsKey = (): string => String.fromCharCode(...words);
  const seen = new Set<string>();
  const stack: Array<{ entry: Entry; state: State }> = [];
  let knownLeft = ops.filter((op) => op.known).length;
  let state: State = options.initial === 'any' ? ANY : (options.initial ?? null);
  let entry = head.next;
  let steps = 0;
  let deepest = 0;
  while (knownLeft > 0) {
    if (++steps > stepsMax) return { valid: 'unknown', steps, reason: `gave up after ${stepsMax} search steps` };
    if (entry === null) throw new Error('linearizability search ran off the end of the history');
    if (entry.call) {
      const next = step(state, entry.op);
      if (next !== FAIL) {
        const i = entry.index;
        words[i >> 4] |= 1 << (i & 15);
        const key = `${bitsKey()}|${stateKey(next)}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ entry, state });
          state = next;
          if (entry.op.known) knownLeft--;
          deepest = Math.max(deepest, stack.length);
          lift(entry);
          entry = head.next;
          continue;
        }
        words[i >> 4] &= ~(1 << (i & 15));
      }
      entry = entry.next;
    } else {
      // A return whose op is not linearized yet: undo the last choice and try the next one.
      const top = stack.pop();
      if (!top) return { valid: false, steps, deepest };
      state = top.state;
      const i = top.entry.index;
      words[i >> 4] &= ~(1 << (i & 15));
      if (top.entry.op.known) knownLeft++;
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { valid: true, steps };
}

/** The checker's view of recorded register ops (fails dropped). */
export function toRegisterOps(ops: readonly Op[]): RegisterOp[] {
  return ops
    .filter((op) => op.outcome !== 'fail')
    .map((op) => ({
      id: op.id,
      f: op.f as RegisterOp['f'],
      value: op.value,
      result: op.outcome === 'ok' ? op.result : null,
      known: op.outcome === 'ok',
      invokeMs: op.invokeMs,
      completeMs: op.outcome === 'ok' ? op.completeMs : Infinity,
    }));
}

/** The relaxed sub-history of the time window [a, b] (see the file comment). */
export function windowOps(ops: readonly RegisterOp[], a: number, b: number): RegisterOp[] {
  const out: RegisterOp[] = [];
  for (const op of ops) {
    if (op.completeMs < a || op.invokeMs > b) continue;
    if (op.invokeMs >= a && op.completeMs <= b) {
      out.push(op);
    } else if (op.f !== 'read') {
      out.push({ ...op, known: false, result: null, completeMs: Infinity });
    }
  }
  return out;
}

/**
 * The shortest window [a, b] of a non-linearizable history that is not linearizable by itself:
 * first the earliest end b, then the latest start a. Returns the ids of the ops in the window.
 */
export function minimalWindow(ops: readonly RegisterOp[], stepsMax = 500_000): { a: number; b: number; ids: number[] } {
  const start = Math.min(...ops.map((op) => op.invokeMs));
  const fails = (a: number, b: number): boolean => checkRegister(windowOps(ops, a, b), { initial: a > start ? 'any' : null, stepsMax }).valid === false;
  const ends = [...new Set(ops.filter((op) => op.known).map((op) => op.completeMs))].sort((x, y) => x - y);
  let lo = 0;
  let hi = ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fails(start, ends[mid])) hi = mid;
    else lo = mid + 1;
  }
  const b = ends[lo];
  const starts = [...new Set(ops.filter((op) => op.invokeMs <= b).map((op) => op.invokeMs))].sort((x, y) => x - y);
  lo = 0;
  hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fails(starts[mid], b)) lo = mid;
    else hi = mid - 1;
  }
  let a = starts[lo];
  let end = b;
  // The searches assume that a wider window fails whenever a narrower one does; if that did not
  // hold here, fall back to the whole history rather than show a window that is not an anomaly.
  if (!fails(a, end)) {
    a = start;
    end = Math.max(...ends);
  }
  const ids = ops.filter((op) => !(op.completeMs < a || op.invokeMs > end)).map((op) => op.id);
  return { a, b: end, ids };
}
