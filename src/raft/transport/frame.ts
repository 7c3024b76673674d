// Framing and payloads of the Raft transport: every frame is a 4-byte big-endian length followed
// by a msgpack payload, and every payload is a small array whose first element says what it is.
// Kept apart from the sockets so the reader can be tested on split and oversize input.
//
//   [0, protocolVersion, clusterId, fromNodeId, toNodeId]   hello: the dialer's first frame
//   [1, code, detail]                                       refusal: the listener's answer to a bad hello
//   [2, messages[]]                                          Raft messages, coalesced
//   [3, nodeId]                                              welcome: the listener's answer to a good hello
//
// The dialer does not wait for the welcome before sending (that would cost a round trip per
// connection); the welcome only tells it the peer accepted it, for logs and backoff.

import { Packr } from 'msgpackr';

// 2: log entries travel as [term, index, type, data] tuples (entry_tuples.ts).
export const protocolVersion = 2;
export const frameHeaderBytes = 4;

export const FrameKind = { hello: 0, refusal: 1, messages: 2, welcome: 3 } as const;

export type RefusalCode = 'protocol-version' | 'cluster-id' | 'unknown-node' | 'wrong-node' | 'protocol-error';

export type Payload =
  | { kind: 'hello'; protocolVersion: number; clusterId: string; from: string; to: string }
  | { kind: 'refusal'; code: RefusalCode; detail: string }
  | { kind: 'messages'; messages: unknown[] }
  | { kind: 'welcome'; nodeId: string };

// useRecords:false: plain msgpack, no structure table shared between the two ends of a stream.
const packr = new Packr({ useRecords: false, int64AsType: 'number' });

export function encodeHello(clusterId: string, from: string, to: string): Buffer {
  return packr.pack([FrameKind.hello, protocolVersion, clusterId, from, to]);
}

export function encodeRefusal(code: RefusalCode, detail: string): Buffer {
  return packr.pack([FrameKind.refusal, code, detail]);
}

export function encodeWelcome(nodeId: string): Buffer {
  return packr.pack([FrameKind.welcome, nodeId]);
}

export function encodeMessages(messages: readonly unknown[]): Buffer {
  return packr.pack([FrameKind.messages, messages]);
}

export function frameHeader(payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(frameHeaderBytes);
  header.writeUInt32BE(payloadBytes, 0);
  return header;
}

/** Decodes a payload, or returns a description of what is wrong with it. */
export function decodePayload(raw: Buffer): Payload | string {
  let value: unknown;
  try {
    value = packr.unpack(raw);
  } catch (error) {
    return `undecodable msgpack payload (${(error as Error).message})`;
  }
  if (!Array.isArray(value)) return 'payload is not an array';
  switch (value[0]) {
    case FrameKind.hello:
      if (value.length !== 5 || typeof value[1] !== 'number' || typeof value[2] !== 'string' || typeof value[3] !== 'string' || typeof value[4] !== 'string') {
        return 'malformed hello';
      }
      return { kind: 'hello', protocolVersion: value[1], clusterId: value[2], from: value[3], to: value[4] };
    case FrameKind.refusal:
      if (value.length !== 3 || typeof value[1] !== 'string' || typeof value[2] !== 'string') return 'malformed refusal';
      return { kind: 'refusal', code: value[1] as RefusalCode, detail: value[2] };
    case FrameKind.messages:
      if (value.length !== 2 || !Array.isArray(value[1])) return 'malformed message batch';
      return { kind: 'messages', messages: value[1] };
    case FrameKind.welcome:
      if (value.length !== 2 || typeof value[1] !== 'string') return 'malformed welcome';
      return { kind: 'welcome', nodeId: value[1] };
    default:
      return `unknown frame kind ${String(value[0])}`;
  }
}

export class FrameTooLargeError extends Error {
  readonly code = 'RAFT_FRAME_TOO_LARGE';
  constructor(
    readonly frameBytes: number,
    readonly frameBytesMax: number,
  ) {
    super(`frame of ${frameBytes} bytes exceeds the limit of ${frameBytesMax} bytes`);
    this.name = 'FrameTooLargeError';
  }
}

/**
 * Reassembles frames from socket chunks. Chunks are kept as a list and copied once per frame, so
 * a large frame arriving in many small chunks costs linear, not quadratic, copying. The length is
 * checked against the limit before any of the frame's body is buffered.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private payloadBytes = -1;

  constructor(private readonly frameBytesMax: number) {}

  /** Feeds a chunk; calls onFrame for each complete payload. Throws FrameTooLargeError. */
  push(chunk: Buffer, onFrame: (payload: Buffer) => boolean | void): void {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    for (;;) {
      if (this.payloadBytes < 0) {
        if (this.bufferedBytes < frameHeaderBytes) return;
        const length = this.take(frameHeaderBytes).readUInt32BE(0);
        if (length > this.frameBytesMax) throw new FrameTooLargeError(length, this.frameBytesMax);
        this.payloadBytes = length;
      }
      if (this.bufferedBytes < this.payloadBytes) return;
      const payload = this.take(this.payloadBytes);
      this.payloadBytes = -1;
      // onFrame returns false to stop reading (the connection is being closed).
      if (onFrame(payload) === false) return;
    }
  }

  private take(n: number): Buffer {
    this.bufferedBytes -= n;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const chunk = this.chunks[0];
      const count = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, count);
      offset += count;
      if (count === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(count);
    }
    return out;
  }
}
