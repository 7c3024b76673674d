// Proves that the transport's FrameReader rebuilds exactly the frames that were written, whether
// the bytes arrive whole, one byte at a time, or split at every possible boundary, and that a
// length over the limit is rejected from the header alone, before the body is buffered.

import t from 'tap';
import { FrameReader, decodePayload, encodeHello, encodeMessages, encodeRefusal, frameHeader, protocolVersion } from '../../src/raft/transport/frame';

function frame(payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(payload.length), payload]);
}

const payloads = [encodeHello('c1', 'n1', 'n2'), encodeMessages([{ type: 1, from: 'n1', to: 'n2', term: 3, data: Buffer.from('xyz') }]), encodeRefusal('cluster-id', 'c9'), Buffer.alloc(0)];
const stream = Buffer.concat(payloads.map(frame));

function readAll(chunks: Buffer[]): string[] {
  const reader = new FrameReader(1024);
  const out: string[] = [];
  for (const chunk of chunks) reader.push(chunk, (p) => void out.push(p.toString('hex')));
  return out;
}

const expected = payloads.map((p) => p.toString('hex'));

t.test('whole, byte by byte, and split at every boundary', async (t) => {
  t.same(readAll([stream]), expected, 'whole');
  const bytes: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
  t.same(readAll(bytes), expected, 'byte by byte');
  let allSame = true;
  for (let i = 0; i <= stream.length; i++) {
    for (let j = i; j <= stream.length; j++) {
      const got = readAll([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
      if (JSON.stringify(got) !== JSON.stringify(expected)) allSame = false;
    }
  }
  t.ok(allSame, 'every two-point split gives the same frames');
});

t.test('payloads decode to what was encoded', async (t) => {
  t.same(decodePayload(payloads[0]), { kind: 'hello', protocolVersion, clusterId: 'c1', from: 'n1', to: 'n2' });
  const batch = decodePayload(payloads[1]);
  t.equal(typeof batch === 'object' && batch.kind, 'messages');
  t.same(decodePayload(payloads[2]), { kind: 'refusal', code: 'cluster-id', detail: 'c9' });
  t.type(decodePayload(payloads[3]), 'string', 'an empty payload is a protocol error');
  t.type(decodePayload(Buffer.from([0x93, 0x07, 0x01, 0x02])), 'string', 'an unknown kind is a protocol error');
});

t.test('a length over the limit is refused from its header', async (t) => {
  const reader = new FrameReader(1024);
  const header = frameHeader(1025);
  t.throws(() => reader.push(header, () => {}), { code: 'RAFT_FRAME_TOO_LARGE', frameBytes: 1025 });
  const ok = new FrameReader(1024);
  let frames = 0;
  ok.push(frame(Buffer.alloc(1024, 1)), () => void frames++);
  t.equal(frames, 1, 'a frame exactly at the limit is accepted');
});
