// Encoding of LogCommands into Raft entry data (msgpackr), and back.
//
// One client command is one entry, so the entry's index is a unique fencing token. Binary-string
// arguments are UTF-8 encoded by msgpack and decode to the same JS string, so bytes round-trip.

import { Packr } from 'msgpackr';
import type { LogCommand } from '../locks/types';
import { EntrySlab } from './entry_slab';

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * A client command, by far the most common entry, is packed as the array [CMD_TAG, db, timeMs,
 * argv] (no key strings: smaller on disk and on the wire, cheaper to pack). Other kinds are maps.
 */
const CMD_TAG = 0;

const slab = new EntrySlab();

/** The entry data for a command, in a buffer of its own (see entry_slab.ts: Raft keeps it until compaction). */
export function encodeLogCommand(command: LogCommand): Uint8Array {
  return slab.copy(command.kind === 'cmd' ? packr.pack([CMD_TAG, command.db, command.timeMs, command.argv]) : packr.pack(command));
}

export function decodeLogCommand(data: Uint8Array): LogCommand {
  // Through a view made for the call: msgpackr caches a DataView on what it decodes (as a
  // property, 120 bytes), and `data` stays in the Raft log until compaction.
  const raw = packr.unpack(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) as unknown;
  if (Array.isArray(raw)) {
    if (raw.length !== 4 || raw[0] !== CMD_TAG || typeof raw[1] !== 'number' || typeof raw[2] !== 'number' || !Array.isArray(raw[3])) {
      throw new Error('raft entry holds a malformed quorumlock command: the log is corrupt');
    }
    return { kind: 'cmd', db: raw[1], timeMs: raw[2], argv: raw[3] as string[] };
  }
  // Maps: every other kind, and client commands written before the array form.
  const value = raw as LogCommand;
  if (value === null || typeof value !== 'object' || typeof (value as { kind?: unknown }).kind !== 'string') {
    throw new Error('raft entry holds no quorumlock command: the log was written by another program or is corrupt');
  }
  return value;
}
