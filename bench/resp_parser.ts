// Throughput of the request parser on redis-benchmark's SET workload.
//
// Feeds pipelines of `SET key:<12 digits> abc` (what `redis-benchmark -t set -r 100000 -P 16`
// sends) in packets of 16 commands and in 64 KiB chunks cut anywhere, pulls every command, and
// prints commands/s. Run: npx tsc -p . && node dist/bench/resp_parser.js

import { RequestParser } from '../src/resp/request_parser';

function command(i: number): string {
  const key = `key:${String(i).padStart(12, '0')}`;
  return `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$3\r\nabc\r\n`;
}

function packets(pipeline: number, count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p < count; p++) {
    let text = '';
    for (let i = 0; i < pipeline; i++) text += command(p * pipeline + i);
    out.push(Buffer.from(text, 'latin1'));
  }
  return out;
}

function chunks(all: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.subarray(i, i + size));
  return out;
}

function run(name: string, input: Buffer[], rounds: number, withMap = false): void {
  const map = new Map<string, string>();
  let commands = 0;
  let checksum = 0;
  const started = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    const parser = new RequestParser();
    for (const chunk of input) {
      parser.feed(chunk);
      for (let argv = parser.next(); argv !== null; argv = parser.next()) {
        commands++;
        checksum += argv[1].length;
        if (withMap) map.set(argv[1], argv[2]);
      }
    }
  }
  const used = process.cpuUsage(started);
  const seconds = (used.user + used.system) / 1e6; // CPU time: steadier than wall time on a shared machine
  console.log(`${name}: ${(commands / seconds / 1e6).toFixed(2)} M commands/s (${commands} in ${seconds.toFixed(2)} s, checksum ${checksum})`);
}

const pipelined16 = packets(16, 4096);
const stream = chunks(Buffer.concat(pipelined16), 64 * 1024);
for (let i = 0; i < 2; i++) {
  run('SET pipelined 16 per packet', pipelined16, 40);
  run('SET stream in 64 KiB chunks', stream, 40);
  run('SET 1 per packet', packets(1, 65536), 40);
  run('SET pipelined 16, stored in a Map', pipelined16, 40, true);
}
