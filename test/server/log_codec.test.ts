// Raft entry data: every kind of LogCommand decodes to what was encoded (client commands in the
// compact array form, binary-string arguments byte for byte), a log written before the array
// form (client commands as maps) still decodes, and corrupt data is refused with a clear error.

import t from 'tap';
import { Packr } from 'msgpackr';
import { decodeLogCommand, encodeLogCommand } from '../../src/server/log_codec';
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
