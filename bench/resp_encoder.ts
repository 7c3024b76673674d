// Throughput of the reply encoder, and the alternative it was chosen over.
//
// Encodes pipelines of 16 replies per take() (one socket write) for typical replies (+OK,
// short bulks, integers/null, an array of keys, a 1 KiB bulk) with the ReplyWriter (bytes into
// a slab Buffer) and with a baseline that builds a latin1 JS string and converts it once per
// pipeline. Prints replies/s. Run: npx tsc -p . && node dist/bench/resp_encoder.js

import { ReplyWriter } from '../src/resp/encoder';
import { OK, SimpleString, type Reply } from '../src/resp/reply';

/** The string-building alternative, for the cases in this bench only. */
class StringWriter {
  private out = '';
  write(reply: Reply): void {
    this.out = StringWriter.encode(this.out, reply);
  }
  take(): Buffer {
    const buf = Buffer.from(this.out, 'latin1');
    this.out = '';
    return buf;
  }
  private static encode(out: string, reply: Reply): string {
    if (typeof reply === 'string') return out + '$' + reply.length + '\r\n' + reply + '\r\n';
    if (typeof reply === 'number') return out + ':' + reply + '\r\n';
    if (reply === null) return out + '$-1\r\n';
    if (Array.isArray(reply)) {
      out += '*' + reply.length + '\r\n';
      for (const item of reply) out = StringWriter.encode(out, item);
      return out;
    }
    if (reply instanceof SimpleString) return out + '+' + reply.value + '\r\n';
    throw new Error('not in this bench');
  }
}

const mixes: Record<string, Reply[]> = {
  'SET -> +OK': [OK],
  'GET -> 3-byte bulk': ['abc'],
  'null / INCR / 1': [null, 12345, 1],
  'array of 3 keys': [['key:000000000001', 'key:000000000002', 'key:000000000003']],
  'GET -> 1 KiB bulk': ['x'.repeat(1024)],
};

function run(name: string, kind: 'ReplyWriter' | 'string', items: Reply[]): void {
  const pipelines = 200_000;
  const writer = new ReplyWriter();
  const strings = new StringWriter();
  let bytes = 0;
  const started = process.cpuUsage();
  for (let p = 0; p < pipelines; p++) {
    if (kind === 'ReplyWriter') {
      for (let i = 0; i < 16; i++) writer.write(items[i % items.length], 2);
      bytes += writer.take().length;
    } else {
      for (let i = 0; i < 16; i++) strings.write(items[i % items.length]);
      bytes += strings.take().length;
    }
  }
  const used = process.cpuUsage(started);
  const seconds = (used.user + used.system) / 1e6; // CPU time: steadier than wall time on a shared machine
  const rate = (pipelines * 16) / seconds / 1e6;
  console.log(`${name.padEnd(20)} ${kind.padEnd(11)} ${rate.toFixed(2).padStart(6)} M replies/s (${(bytes / seconds / 2 ** 20).toFixed(0)} MiB/s)`);
}

for (let round = 0; round < 2; round++) {
  for (const [name, items] of Object.entries(mixes)) {
    run(name, 'ReplyWriter', items);
    run(name, 'string', items);
  }
}
