// Raft entry data: every kind of LogCommand decodes to what was encoded (client commands in the
// compact array form, binary-string arguments byte for byte), a log written before the array
// form (client commands as maps) still decodes, and corrupt data is refused with a clear error.

import t from 'tap';
import { Packr } from 'msgpackr';
import { decodeLogCommand, encodeLogCommand } from '../../src/server/log_codec';
import { encodeMessages } from '../../src/raft/transport/frame';
import type { LogCommand } from '../../src/locks/types';

t.test('every kind round-trips', async (t) => {
  const commands: LogCommand[] = [
    { kind: 'cmd', db: 3, argv: ['SET', 'k\u00ff\u0000', 'v', 'NX', 'PX', '30000'], timeMs: 1_790_000_000_123 },
    { kind: 'expire', db: 0, keys: ['a', 'b'], timeMs: 5 },
    { kind: 'leader', leaderId: 'n2', extendMs: 1000, timeMs: 6 },
    { kind: 'member', nodeId: 'n3', incarnation: '1790000000000', timeMs: 7 },
  ];
  for (const command of commands) t.same(decodeLogCommand(encodeLogCommand(command)), command, command.kind);
});

t.test('a client command as a map (the older form) still decodes', async (t) => {
  const legacy = new Packr({ useRecords: false, moreTypes: false }).pack({ kind: 'cmd', db: 1, argv: ['DEL', 'x'], timeMs: 9 });
  t.same(decodeLogCommand(legacy), { kind: 'cmd', db: 1, argv: ['DEL', 'x'], timeMs: 9 });
});

t.test('corrupt data is refused', async (t) => {
  const packr = new Packr({ useRecords: false });
  t.throws(() => decodeLogCommand(packr.pack([0, 1])), /malformed quorumlock command/);
  t.throws(() => decodeLogCommand(packr.pack('hello')), /no quorumlock command/);
});

// Raft keeps entry data in memory until the next log compaction (up to ~125,000 entries). What it
// keeps must be the entry's bytes, not msgpackr's shared buffer with the frames and WAL records
// packed around it (on a leader: 289 bytes of ArrayBuffer per 66-byte LOCK entry before), and not
// the DataView msgpackr caches on what it decodes (120 bytes per entry on a follower).
t.test('entry data keeps alive only entry data', async (t) => {
  const entries: Uint8Array[] = [];
  for (let i = 0; i < 20_000; i++) {
    entries.push(encodeLogCommand({ kind: 'cmd', db: 0, argv: ['LOCK', `lock:${i}`, 'f'.repeat(32), '600000'], timeMs: 1_790_000_000_000 + i }));
    // What a leader packs between two proposals: the append messages carrying them.
    encodeMessages([{ type: 'append', entries: entries.slice(-4).map((data) => ({ term: 1, index: i, data })) }]);
  }
  const buffers = new Set(entries.map((e) => e.buffer));
  const retained = [...buffers].reduce((sum, b) => sum + b.byteLength, 0);
  const bytes = entries.reduce((sum, e) => sum + e.length, 0);
  t.ok(retained < bytes * 1.2, `entries retain ${retained} bytes of buffers for ${bytes} bytes of data`);

  const data = entries[7];
  t.same(decodeLogCommand(data), { kind: 'cmd', db: 0, argv: ['LOCK', 'lock:7', 'f'.repeat(32), '600000'], timeMs: 1_790_000_000_007 });
  t.notOk('dataView' in data, 'no DataView cached on the entry data');
});
