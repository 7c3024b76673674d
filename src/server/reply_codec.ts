// Replies as plain, msgpack-friendly values, for relaying a leader's reply to a follower that
// proxied the command. Plain JS values stay as they are; each reply class becomes a one-key
// object, so the follower rebuilds the exact Reply and encodes it in its client's protocol.

import {
  BigNumberReply,
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArray,
  PushReply,
  SetReply,
  SimpleString,
  VerbatimReply,
  type Reply,
} from '../resp/reply';

export type WireReply = null | number | string | WireReply[] | { [tag: string]: unknown };

export function toWire(reply: Reply): WireReply {
  if (reply === null || typeof reply === 'number' || typeof reply === 'string') return reply;
  if (typeof reply === 'bigint') return { b: reply.toString() };
  if (Array.isArray(reply)) return reply.map(toWire);
  if (reply instanceof SimpleString) return { s: reply.value };
  if (reply instanceof ErrorReply) return { e: reply.message };
  if (reply instanceof NullArray) return { na: 1 };
  if (reply instanceof MapReply) return { m: reply.entries.map(([k, v]) => [toWire(k), toWire(v)]) };
  if (reply instanceof SetReply) return { set: reply.items.map(toWire) };
  if (reply instanceof DoubleReply) return { d: reply.value };
  if (reply instanceof BoolReply) return { bo: reply.value };
  if (reply instanceof VerbatimReply) return { v: reply.text, f: reply.format };
  if (reply instanceof BigNumberReply) return { bn: reply.digits };
  if (reply instanceof PushReply) return { p: reply.items.map(toWire) };
  throw new Error(`cannot relay a reply of type ${typeof reply}`);
}

export function fromWire(wire: WireReply): Reply {
  if (wire === null || typeof wire === 'number' || typeof wire === 'string') return wire;
  if (Array.isArray(wire)) return wire.map(fromWire);
  const o = wire as Record<string, unknown>;
  if ('b' in o) return BigInt(o.b as string);
  if ('s' in o) return new SimpleString(o.s as string);
  if ('e' in o) return new ErrorReply(o.e as string);
  if ('na' in o) return NullArray.instance;
  if ('m' in o) return new MapReply((o.m as WireReply[][]).map(([k, v]) => [fromWire(k), fromWire(v)]));
  if ('set' in o) return new SetReply((o.set as WireReply[]).map(fromWire));
  if ('d' in o) return new DoubleReply(o.d as number);
  if ('bo' in o) return new BoolReply(o.bo as boolean);
  if ('v' in o) return new VerbatimReply(o.f as string, o.v as string);
  if ('bn' in o) return new BigNumberReply(o.bn as string);
  if ('p' in o) return new PushReply((o.p as WireReply[]).map(fromWire));
  return new ErrorReply('ERR the leader relayed a reply this node cannot decode; retry the command on the leader');
}
