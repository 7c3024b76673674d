// The Redis Cluster hash slot of a key: CRC16 (XMODEM) of the key, or of its {hash tag}, mod 16384.
//
// The keyspace is partitioned by slot so that SCAN can use the slot number as a stateless cursor
// that survives inserts and deletes, and so that a later cluster mode can move whole slots.

export const SLOT_COUNT = 16384;

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  TABLE[i] = crc;
}

function crc16(text: string, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ text.charCodeAt(i)) & 0xff];
  return crc;
}

/** keyHashSlot from Redis's cluster.c, including the `{tag}` rule (an empty tag hashes the whole key). */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close !== -1 && close !== open + 1) return crc16(key, open + 1, close) & (SLOT_COUNT - 1);
  }
  return crc16(key, 0, key.length) & (SLOT_COUNT - 1);
}
