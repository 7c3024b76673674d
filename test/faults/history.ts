// What a fault run records: every client operation with its invocation and completion times and
// its outcome, and every fault the nemesis injected. The checkers, the chart and the history file
// all read these records, so a failure can be replayed by eye from the file alone.
//
// Outcomes, as Jepsen names them: `ok` (the reply says it happened), `fail` (the reply says it
// did not happen: -CLUSTERDOWN, -TRYAGAIN), `unknown` (a timeout, a closed connection, -UNCERTAIN
// or any other error: it may take effect at any time after its invocation, or never).

import * as fs from 'node:fs';

export type Outcome = 'ok' | 'fail' | 'unknown';

export type Workload = 'register' | 'lock' | 'unique' | 'final';

export interface Op {
  readonly id: number;
  readonly workload: Workload;
  /** Client index and how it reaches the cluster (sentinel / cluster / plain:n3). */
  readonly client: number;
  readonly via: string;
  /** The node the client sent it to, as far as the client library tells. */
  node?: string;
  /** read / write / cad (compare-and-delete) / lock / unlock / set */
  readonly f: string;
  readonly key: string;
  /** write and cad: the value sent; read: the value read (ok only); lock: the owner. */
  value: string | null;
  /** cad: 1 deleted, 0 not; lock: the fencing token (null: not acquired). */
  result: number | null;
  outcome: Outcome;
  /** ms since the run started. */
  readonly invokeMs: number;
  completeMs: number;
  error?: string;
}

export interface FaultInterval {
  readonly kind: string;
  readonly detail: string;
  readonly startMs: number;
  endMs: number;
}

/**
 * Errors that mean the command was definitely not executed. The Cluster client's "Too many Cluster
 * redirections" wraps only replies it retries (CLUSTERDOWN, TRYAGAIN, MOVED): never executed.
 */
export function isDefiniteFailure(message: string): boolean {
  return /^(CLUSTERDOWN|TRYAGAIN)\b/.test(message) || /^Too many Cluster redirections\. Last error: (ReplyError: )?(CLUSTERDOWN|TRYAGAIN|MOVED)\b/.test(message);
}

export class History {
  readonly ops: Op[] = [];
  readonly faults: FaultInterval[] = [];
  readonly startedAtMs = Date.now();

  now(): number {
    return Date.now() - this.startedAtMs;
  }

  invoke(fields: Omit<Op, 'id' | 'invokeMs' | 'completeMs' | 'outcome' | 'result'> & { result?: number | null }): Op {
    const op: Op = { ...fields, result: fields.result ?? null, id: this.ops.length, invokeMs: this.now(), completeMs: -1, outcome: 'unknown' };
    this.ops.push(op);
    return op;
  }

  complete(op: Op, outcome: Outcome, patch: { value?: string | null; result?: number | null; error?: string } = {}): Op {
    op.completeMs = this.now();
    op.outcome = outcome;
    if ('value' in patch) op.value = patch.value ?? null;
    if ('result' in patch) op.result = patch.result ?? null;
    if (patch.error !== undefined) op.error = patch.error.slice(0, 160);
    return op;
  }

  /** Completes an op from a thrown error: a definite failure, or an unknown outcome. */
  completeWithError(op: Op, error: unknown): Op {
    const message = String((error as Error)?.message ?? error);
    return this.complete(op, isDefiniteFailure(message) ? 'fail' : 'unknown', { error: message });
  }

  fault(kind: string, detail: string): FaultInterval {
    const interval: FaultInterval = { kind, detail, startMs: this.now(), endMs: -1 };
    this.faults.push(interval);
    return interval;
  }

  endFault(interval: FaultInterval): void {
    interval.endMs = this.now();
  }

  /** One JSON object per line: a header, then every fault, then every op (written in chunks: a long run has ~10^6 ops). */
  write(file: string, header: Record<string, unknown>): void {
    const fd = fs.openSync(file, 'w');
    try {
      let chunk = JSON.stringify({ type: 'header', startedAt: new Date(this.startedAtMs).toISOString(), ...header }) + '\n';
      for (const f of this.faults) chunk += JSON.stringify({ type: 'fault', ...f }) + '\n';
      for (const op of this.ops) {
        chunk += JSON.stringify({ type: 'op', ...op }) + '\n';
        if (chunk.length > 1 << 20) {
          fs.writeSync(fd, chunk);
          chunk = '';
        }
      }
      fs.writeSync(fd, chunk);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Reads a history file back (for replaying a check by hand). */
export function readHistory(file: string): { header: Record<string, unknown>; ops: Op[]; faults: FaultInterval[] } {
  const ops: Op[] = [];
  const faults: FaultInterval[] = [];
  let header: Record<string, unknown> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const record = JSON.parse(line) as { type: string } & Record<string, unknown>;
    if (record.type === 'header') header = record;
    else if (record.type === 'fault') faults.push(record as unknown as FaultInterval);
    else if (record.type === 'op') ops.push(record as unknown as Op);
  }
  return { header, ops, faults };
}

export function describeOp(op: Op): string {
  const end = op.outcome === 'unknown' ? `${op.completeMs}?` : String(op.completeMs);
  const what =
    op.f === 'read' ? `read -> ${JSON.stringify(op.value)}` : op.f === 'cad' ? `cad ${JSON.stringify(op.value)} -> ${op.result ?? '?'}` : `${op.f} ${JSON.stringify(op.value)}${op.result !== null ? ` -> ${op.result}` : ''}`;
  return `#${op.id} c${op.client}(${op.via}${op.node && !op.via.endsWith(op.node) ? `->${op.node}` : ''}) [${op.invokeMs}..${end} ms] ${op.key} ${what} ${op.outcome}${op.error ? ` (${op.error.split(' ').slice(0, 6).join(' ')})` : ''}`;
}
