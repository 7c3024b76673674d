// Copies of small byte strings packed side by side into slabs that hold nothing else.
//
// Why: msgpackr packs every value (log entries, Raft frames, WAL records, snapshot headers) into
// one shared 8 KiB-or-larger buffer and returns a view of it. A Raft entry lives in memory until
// the next log compaction (up to ~125,000 entries), and its view keeps that whole shared buffer
// alive, most of which holds the frames and WAL records packed between two entries and long
// since sent. Measured on a leader holding 200,000 uncompacted LOCK entries: 289 bytes of
// ArrayBuffer per entry for a 66-byte entry (the followers, whose entries are views of the
// append messages that brought them: 86). The same garbage, freed at compaction in scattered
// 8 KiB blocks, is heap slack the leader could not give back (bench/README, workload 5).
//
// A slab is filled in index order and dropped once every entry in it is compacted, so what an
// entry keeps alive is its neighbours in the log.

/** Slab size: 64 KiB, ~900 LOCK entries; larger values get a buffer of their own. */
const SLAB_BYTES = 64 * 1024;

export class EntrySlab {
  private slab: Buffer = Buffer.alloc(0);
  private used = 0;

  constructor(private readonly slabBytes = SLAB_BYTES) {}

  /** A copy of `bytes` that keeps alive only this slab. */
  copy(bytes: Uint8Array): Buffer {
    const length = bytes.length;
    if (length > this.slabBytes >>> 2) return Buffer.from(bytes);
    if (this.used + length > this.slab.length) {
      // allocUnsafeSlow: never Node's shared 8 KiB pool (which other buffers share); every byte
      // handed out is written below before anyone reads it.
      this.slab = Buffer.allocUnsafeSlow(this.slabBytes);
      this.used = 0;
    }
    const start = this.used;
    this.slab.set(bytes, start);
    this.used = start + length;
    return this.slab.subarray(start, start + length);
  }
}
