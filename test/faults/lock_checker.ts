// Checks the lock workload: what a holder of a fenced lock is promised.
//
// - Tokens are unique per lock, and grow in real time: if one acquisition was acknowledged before
//   another was sent, the later one has the greater token.
// - No two holders overlap: an acquisition with a greater token (so later in the log) must not be
//   acknowledged while an earlier holder's lease still ran, as that holder could count on it: from
//   when it sent LOCK for ttl ms, unless it had sent UNLOCK first. The server stamps lock entries
//   with the leader's clock, so a leader whose clock is skewed by d ms may end a lease up to d ms
//   early (that is what the fencing token is for); leases that overlap a clock fault get that
//   tolerance, all others none.
//
// The fenced register itself (a resource that refuses stale tokens) lives in the workload; its
// refusals are counted as fencing at work, not as violations.

export interface Acquisition {
  readonly key: string;
  readonly owner: string;
  readonly token: number;
  readonly sendMs: number;
  readonly ackMs: number;
  /** When its UNLOCK was sent (Infinity: never). */
  releaseMs: number;
  readonly ttlMs: number;
}

export interface SkewInterval {
  readonly startMs: number;
  readonly endMs: number;
  readonly offsetMs: number;
}

export function checkLocks(acquisitions: readonly Acquisition[], skews: readonly SkewInterval[]): string[] {
  const violations: string[] = [];
  const byKey = new Map<string, Acquisition[]>();
  for (const a of acquisitions) {
    const list = byKey.get(a.key) ?? [];
    list.push(a);
    byKey.set(a.key, list);
  }
  const tolerance = (a: Acquisition): number => {
    let ms = 0;
    for (const s of skews) {
      if (a.sendMs <= s.endMs + a.ttlMs && a.sendMs + a.ttlMs >= s.startMs) ms = Math.max(ms, Math.abs(s.offsetMs));
    }
    return ms;
  };
  for (const [key, list] of byKey) {
    const byToken = [...list].sort((x, y) => x.token - y.token);
    for (let i = 1; i < byToken.length; i++) {
      if (byToken[i].token === byToken[i - 1].token) violations.push(`${key}: token ${byToken[i].token} given to both ${byToken[i - 1].owner} and ${byToken[i].owner}`);
    }
    // Real-time order: sweep acquisitions by send time, with the greatest token acknowledged before it.
    const byAck = [...list].sort((x, y) => x.ackMs - y.ackMs);
    const bySend = [...list].sort((x, y) => x.sendMs - y.sendMs);
    let j = 0;
    let best: Acquisition | null = null;
    for (const b of bySend) {
      while (j < byAck.length && byAck[j].ackMs < b.sendMs) {
        if (!best || byAck[j].token > best.token) best = byAck[j];
        j++;
      }
      if (best && best.token >= b.token) {
        violations.push(`${key}: ${b.owner} sent LOCK at ${b.sendMs} ms and got token ${b.token}, not above ${best.token} that ${best.owner} had by ${best.ackMs} ms`);
      }
    }
    // Overlap: each holder against the earlier holders whose lease could still run.
    for (let i = 0; i < byToken.length; i++) {
      const b = byToken[i];
      for (let k = i - 1; k >= 0 && k >= i - 200; k--) {
        const a = byToken[k];
        const leaseEndMs = Math.min(a.releaseMs, a.sendMs + a.ttlMs - tolerance(a));
        if (b.ackMs < leaseEndMs) {
          violations.push(
            `${key}: ${b.owner} held it (token ${b.token}, acknowledged at ${b.ackMs} ms) while ${a.owner} (token ${a.token}, sent at ${a.sendMs} ms, ttl ${a.ttlMs} ms, released at ${a.releaseMs} ms) still held it for ${leaseEndMs - b.ackMs} ms`,
          );
        }
      }
    }
  }
  return violations;
}
