// Pub/Sub on this node: channel and pattern subscriptions of local clients.
//
// PUBLISH is a log entry (src/locks), so every replica that applies it delivers to its own
// subscribers: a subscriber on any node receives what was published through any node. Delivery
// is a push on the subscriber's connection (RESP3 `>` push frame, RESP2 array).

import { PushReply } from '../resp/reply';
import { globMatch } from '../locks/glob';

export interface Subscriber {
  readonly id: number;
  readonly subscriptions: Set<string>;
  readonly patterns: Set<string>;
  push(reply: PushReply): void;
}

export class PubSubHub {
  private readonly channels = new Map<string, Set<Subscriber>>();
  private readonly patterns = new Map<string, Set<Subscriber>>();

  subscribe(client: Subscriber, channel: string): void {
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(client);
    client.subscriptions.add(channel);
  }

  unsubscribe(client: Subscriber, channel: string): boolean {
    const set = this.channels.get(channel);
    const had = client.subscriptions.delete(channel);
    if (set) {
      set.delete(client);
      if (set.size === 0) this.channels.delete(channel);
    }
    return had;
  }

  psubscribe(client: Subscriber, pattern: string): void {
    let set = this.patterns.get(pattern);
    if (!set) this.patterns.set(pattern, (set = new Set()));
    set.add(client);
    client.patterns.add(pattern);
  }

  punsubscribe(client: Subscriber, pattern: string): boolean {
    const set = this.patterns.get(pattern);
    const had = client.patterns.delete(pattern);
    if (set) {
      set.delete(client);
      if (set.size === 0) this.patterns.delete(pattern);
    }
    return had;
  }

  /** Drops every subscription of a client that went away. */
  removeClient(client: Subscriber): void {
    for (const channel of [...client.subscriptions]) this.unsubscribe(client, channel);
    for (const pattern of [...client.patterns]) this.punsubscribe(client, pattern);
  }

  /** Delivers to local subscribers; returns how many received it (Redis counts pattern matches too). */
  publish(channel: string, message: string): number {
    let receivers = 0;
    const direct = this.channels.get(channel);
    if (direct) {
      for (const client of direct) {
        client.push(new PushReply(['message', channel, message]));
        receivers++;
      }
    }
    for (const [pattern, clients] of this.patterns) {
      if (!globMatch(pattern, channel)) continue;
      for (const client of clients) {
        client.push(new PushReply(['pmessage', pattern, channel, message]));
        receivers++;
      }
    }
    return receivers;
  }

  channelNames(pattern: string | null): string[] {
    const out: string[] = [];
    for (const name of this.channels.keys()) if (pattern === null || globMatch(pattern, name)) out.push(name);
    return out;
  }

  subscriberCount(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  patternCount(): number {
    return this.patterns.size;
  }
}
