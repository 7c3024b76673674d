// Log entries cross the wire as [term, index, type, data] tuples: a message survives the round
// trip through msgpack unchanged (entries, data bytes, every other field), messages without
// entries are not copied, and a peer that sends a malformed tuple is refused, not trusted.

import t from 'tap';
import { Packr } from 'msgpackr';
import { fromEntryTuples, withEntryTuples } from '../../src/raft/transport/entry_tuples';
import { EntryType, type Message } from '../../src/raft/types';

const packr = new Packr({ useRecords: false, int64AsType: 'number' });

function message(entries: Message['entries']): Message {
  return { type: 'app', from: 'n1', to: 'n2', term: 3, logTerm: 2, index: 9, entries, commit: 8, reject: false, rejectHint: 0, context: null, snapshot: null };
}

t.test('entries round-trip through msgpack as tuples', async (t) => {
  const sent = message([
    { term: 3, index: 10, type: EntryType.Normal, data: new Uint8Array([1, 2, 255]) },
    { term: 3, index: 11, type: EntryType.ConfChange, data: new Uint8Array(0) },
  ]);
  const wire = packr.unpack(packr.pack(withEntryTuples([sent]))) as Message[];
  const got = fromEntryTuples(wire[0]);
  t.same({ ...got, entries: [] }, { ...sent, entries: [] }, 'every other field as sent');
  t.equal(got.entries.length, 2);
  t.same(got.entries.map((e) => [e.term, e.index, e.type, [...e.data]]), [
    [3, 10, EntryType.Normal, [1, 2, 255]],
    [3, 11, EntryType.ConfChange, []],
  ]);
  const bytesAsMaps = packr.pack([sent]).length;
  const bytesAsTuples = packr.pack(withEntryTuples([sent])).length;
  t.ok(bytesAsTuples < bytesAsMaps, `smaller on the wire (${bytesAsTuples} < ${bytesAsMaps} bytes)`);
});

t.test('a message without entries passes as it is', async (t) => {
  const heartbeat = { ...message([]), type: 'heartbeat' as const };
  t.equal(withEntryTuples([heartbeat])[0], heartbeat);
  t.equal(fromEntryTuples(heartbeat), heartbeat);
});

t.test('a malformed tuple is refused', async (t) => {
  const bad = { ...message([]), entries: [[3, 10, 0]] } as unknown as Message;
  t.throws(() => fromEntryTuples(bad), /malformed entry 0 in a app message from n1/);
  const notBytes = { ...message([]), entries: [[3, 10, 0, 'x']] } as unknown as Message;
  t.throws(() => fromEntryTuples(notBytes), /malformed entry/);
});
