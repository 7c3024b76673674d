// Encoding of LogCommands into Raft entry data (msgpackr), and back.
//
// One client command is one entry, so the entry's index is a unique fencing token. Binary-string
// arguments are UTF-8 encoded by msgpack and decode to the same JS string, so bytes round-trip.

import { Packr } from 'msgpackr';
import type { LogCommand } from '../locks/types';

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeLogCommand(command: LogCommand): Uint8Array {
  return packr.pack(command);
}

export function decodeLogCommand(data: Uint8Array): LogCommand {
  const value = packr.unpack(data) as LogCommand;
  if (value === null || typeof value !== 'object' || typeof (value as { kind?: unknown }).kind !== 'string') {
    throw new Error('raft entry holds no quorumlock command: the log was written by another program or is corrupt');
  }
  return value;
}
