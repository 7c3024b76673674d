// The `struct` library Redis bundles (Roberto Ierusalimschy's struct.c): pack / unpack / size of
// binary records. Options: < > = (endianness, default little), ![n] (alignment), x (pad byte),
// b B h H l L T i[n] I[n] (integers of 1, 2, 8, 8, n bytes; i/I default 4), f d (float, double),
// s (zero-terminated string), c[n] (fixed-size string; c0 = the preceding number's length on
// unpack, the whole string on pack), spaces ignored. Sizes as on x86-64 Linux.

import { vm, type LuaState } from './fengari_vm';
import { fromBytes, nameBytes, toBytes } from './lua_values';

const { lua, lauxlib } = vm;

const ALIGN_MAX = 8;
const INT_SIZE_MAX = 8;

function fail(L: LuaState, message: string): never {
  lauxlib.luaL_error(L, nameBytes('%s'), toBytes(message));
  throw new Error('unreachable');
}

interface Header {
  little: boolean;
  align: number;
}

interface Option {
  code: string;
  size: number;
}

/** Walks a format string, calling `each` for every sized option (after applying controls). */
class Format {
  pos = 0;
  readonly h: Header = { little: true, align: 1 };

  constructor(
    private readonly L: LuaState,
    private readonly fmt: string,
  ) {}

  private number(fallback: number): number {
    const start = this.pos;
    while (this.pos < this.fmt.length && this.fmt[this.pos] >= '0' && this.fmt[this.pos] <= '9') this.pos++;
    return this.pos === start ? fallback : Number(this.fmt.slice(start, this.pos));
  }

  /** The next option with a size, or null at the end. */
  next(): Option | null {
    while (this.pos < this.fmt.length) {
      const code = this.fmt[this.pos++];
      switch (code) {
        case ' ':
          continue;
        case '<':
        case '=':
          this.h.little = true;
          continue;
        case '>':
          this.h.little = false;
          continue;
        case '!': {
          const a = this.number(ALIGN_MAX);
          if ((a & (a - 1)) !== 0) fail(this.L, 'alignment %d is not a power of 2'.replace('%d', String(a)));
          this.h.align = a;
          continue;
        }
        case 'x':
        case 'b':
        case 'B':
          return { code, size: 1 };
        case 'h':
        case 'H':
          return { code, size: 2 };
        case 'l':
        case 'L':
        case 'T':
          return { code, size: 8 };
        case 'f':
          return { code, size: 4 };
        case 'd':
          return { code, size: 8 };
        case 's':
          return { code, size: 0 };
        case 'c':
          return { code, size: this.number(1) };
        case 'i':
        case 'I': {
          const size = this.number(4);
          if (size < 1 || size > INT_SIZE_MAX) fail(this.L, `integral size ${size} is larger than limit of ${INT_SIZE_MAX}`);
          return { code, size };
        }
        default:
          fail(this.L, `invalid format option '${code}'`);
      }
    }
    return null;
  }

  /** Padding needed before an option of `size` at offset `length` (gettoalign). */
  padding(length: number, option: Option): number {
    let size = option.size;
    if (size === 0 || option.code === 'c') return 0;
    if (size > this.h.align) size = this.h.align;
    return (size - (length & (size - 1))) & (size - 1);
  }
}

function isInteger(code: string): boolean {
  return 'bBhHlLTiI'.includes(code);
}

function signed(code: string): boolean {
  return 'bhli'.includes(code);
}

function writeInteger(out: number[], value: number, size: number, little: boolean): void {
  let v = BigInt.asUintN(size * 8, BigInt(Math.trunc(value)));
  const bytes: number[] = [];
  for (let i = 0; i < size; i++) {
    bytes.push(Number(v & 0xffn));
    v >>= 8n;
  }
  if (!little) bytes.reverse();
  out.push(...bytes);
}

function readInteger(s: Uint8Array, pos: number, size: number, little: boolean, isSigned: boolean): number {
  let v = 0n;
  for (let i = 0; i < size; i++) {
    const byte = s[little ? pos + size - 1 - i : pos + i];
    v = (v << 8n) | BigInt(byte);
  }
  return Number(isSigned ? BigInt.asIntN(size * 8, v) : v);
}

function pack(L: LuaState): number {
  const f = new Format(L, fromBytes(lauxlib.luaL_checklstring(L, 1)));
  const out: number[] = [];
  let arg = 2;
  for (let option = f.next(); option !== null; option = f.next()) {
    for (let pad = f.padding(out.length, option); pad > 0; pad--) out.push(0);
    const { code, size } = option;
    if (code === 'x') {
      out.push(0);
    } else if (isInteger(code)) {
      writeInteger(out, lauxlib.luaL_checknumber(L, arg++), size, f.h.little);
    } else if (code === 'f' || code === 'd') {
      const view = new DataView(new ArrayBuffer(size));
      const n = lauxlib.luaL_checknumber(L, arg++);
      if (size === 4) view.setFloat32(0, n, f.h.little);
      else view.setFloat64(0, n, f.h.little);
      out.push(...new Uint8Array(view.buffer));
    } else if (code === 'c' || code === 's') {
      const s: Uint8Array = lauxlib.luaL_checklstring(L, arg++);
      let length = s.length;
      if (code === 'c' && size !== 0) {
        if (size > s.length) fail(L, `bad argument #${arg - 1} to 'pack' (string too short)`);
        length = size;
      }
      for (let i = 0; i < length; i++) out.push(s[i]);
      if (code === 's') out.push(0);
    }
  }
  lua.lua_pushstring(L, Uint8Array.from(out));
  return 1;
}

function unpack(L: LuaState): number {
  const f = new Format(L, fromBytes(lauxlib.luaL_checklstring(L, 1)));
  const s: Uint8Array = lauxlib.luaL_checklstring(L, 2);
  let pos = Math.trunc(lauxlib.luaL_optnumber(L, 3, 1)) - 1;
  if (pos < 0) fail(L, "bad argument #3 to 'unpack' (offset must be 1 or greater)");
  let results = 0;
  let lastNumber = 0;
  for (let option = f.next(); option !== null; option = f.next()) {
    pos += f.padding(pos, option);
    const { code } = option;
    let size = option.size;
    if (code === 'c' && size === 0) size = lastNumber;
    if (pos + size > s.length) fail(L, "bad argument #2 to 'unpack' (data string too short)");
    lua.lua_checkstack(L, 2);
    if (code === 'x') {
      pos += 1;
      continue;
    }
    if (isInteger(code)) {
      lastNumber = readInteger(s, pos, size, f.h.little, signed(code));
      lua.lua_pushnumber(L, lastNumber);
    } else if (code === 'f' || code === 'd') {
      const view = new DataView(s.buffer, s.byteOffset + pos, size);
      lua.lua_pushnumber(L, size === 4 ? view.getFloat32(0, f.h.little) : view.getFloat64(0, f.h.little));
    } else if (code === 'c') {
      lua.lua_pushstring(L, s.slice(pos, pos + size));
    } else if (code === 's') {
      const end = s.indexOf(0, pos);
      if (end === -1) fail(L, 'unfinished string in data');
      lua.lua_pushstring(L, s.slice(pos, end));
      size = end - pos + 1;
    }
    pos += size;
    results++;
  }
  lua.lua_pushnumber(L, pos + 1);
  return results + 1;
}

function size(L: LuaState): number {
  const f = new Format(L, fromBytes(lauxlib.luaL_checklstring(L, 1)));
  let total = 0;
  for (let option = f.next(); option !== null; option = f.next()) {
    if (option.code === 's' || (option.code === 'c' && option.size === 0)) fail(L, "bad argument #1 to 'size' (options 'c0' - 's' have undefined sizes)");
    total += f.padding(total, option) + option.size;
  }
  lua.lua_pushnumber(L, total);
  return 1;
}

/** Pushes the `struct` table. */
export function openStruct(L: LuaState): void {
  lua.lua_createtable(L, 0, 3);
  for (const [name, fn] of Object.entries({ pack, unpack, size })) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, nameBytes(name));
  }
}
