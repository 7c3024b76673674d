// Binary strings <-> bytes without the argument checks of Buffer#toString / Buffer#write.
//
// Node's Buffer has native `latin1Slice` / `latin1Write` methods (what toString('latin1') and
// write(..., 'latin1') call after normalising their arguments). They are not in the typings, so
// they are reached through this one file; if a future Node drops them we fall back to the
// documented methods, which give the same bytes.

interface NativeLatin1 {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number, length: number): number;
}

const proto = Buffer.prototype as unknown as Partial<NativeLatin1>;
const hasNative = typeof proto.latin1Slice === 'function' && typeof proto.latin1Write === 'function';

/** buf[start, end) as a binary string (one char per byte). */
export const latin1Slice: (buf: Buffer, start: number, end: number) => string = hasNative
  ? (buf, start, end) => (buf as unknown as NativeLatin1).latin1Slice(start, end)
  : (buf, start, end) => buf.toString('latin1', start, end);

/** Writes a binary string at `offset`; the caller has made room for `text.length` bytes. Returns bytes written. */
export const latin1Write: (buf: Buffer, text: string, offset: number) => number = hasNative
  ? (buf, text, offset) => (buf as unknown as NativeLatin1).latin1Write(text, offset, text.length)
  : (buf, text, offset) => buf.write(text, offset, text.length, 'latin1');
