// Pending ReadIndex requests on the leader (etcd's read_only.go, safe mode): each request records
// the commit index at the time it arrived and waits until a quorum has answered a heartbeat that
// carried its context, which proves this node was still the leader after the request arrived.
// Requests are answered in arrival order; one heartbeat round acknowledges every earlier request.

import type { NodeId } from './types';

export interface ReadRequest {
  /** Who asked: the leader itself (a local read) or a follower that forwarded it. */
  readonly from: NodeId;
  readonly context: Uint8Array;
}

export interface ReadIndexStatus {
  readonly request: ReadRequest;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/** Context bytes as a map key. Contexts are small (a counter or id), so this stays cheap. */
export function contextKey(context: Uint8Array): string {
  let key = '';
  for (let i = 0; i < context.length; i++) key += String.fromCharCode(context[i]);
  return key;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  addRequest(index: number, request: ReadRequest): void {
    const key = contextKey(request.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { request, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `id` answered the heartbeat round of `context`; returns the acks so far. */
  recvAck(id: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const status = this.pending.get(contextKey(context));
    if (!status) return undefined;
    status.acks.add(id);
    return status.acks;
  }

  /** Completes the request with `context` and every request queued before it. */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const key = contextKey(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const statuses: ReadIndexStatus[] = [];
    for (const k of done) {
      const status = this.pending.get(k);
      if (status) statuses.push(status);
      this.pending.delete(k);
    }
    return statuses;
  }

  lastPendingContext(): Uint8Array | null {
    if (this.queue.length === 0) return null;
    return this.pending.get(this.queue[this.queue.length - 1])!.request.context;
  }

  size(): number {
    return this.queue.length;
  }
}
