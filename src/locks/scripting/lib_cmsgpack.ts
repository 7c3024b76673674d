// The `cmsgpack` library Redis bundles (lua-cmsgpack 0.4), byte-compatible with its encoder choices:
// integral numbers take the smallest int form, other numbers float32 when exact else float64,
// strings use fixstr/str8/str16/str32, a table whose keys are exactly 1..n is an array (an empty
// table too), anything else a map, nesting beyond 16 levels encodes nil. Hand-written rather than
// msgpackr because those choices are what scripts (and Redis) observe.

import { vm, type LuaState } from './fengari_vm';
import { nameBytes, toBytes } from './lua_values';

const { lua, lauxlib } = vm;

const NESTING_MAX = 16;

function fail(L: LuaState, message: string): never {
  lauxlib.luaL_error(L, nameBytes('%s'), toBytes(message));
  throw new Error('unreachable');
}

class Writer {
  private buf = new Uint8Array(64);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  uint(value: number, size: 1 | 2 | 4): void {
    this.ensure(size);
    for (let i = size - 1; i >= 0; i--) this.buf[this.length++] = Math.floor(value / 2 ** (8 * i)) & 0xff;
  }

  big64(value: bigint): void {
    this.ensure(8);
    new DataView(this.buf.buffer).setBigUint64(this.length, BigInt.asUintN(64, value));
    this.length += 8;
  }

  float32(value: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.length, value);
    this.length += 4;
  }

  float64(value: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer).setFloat64(this.length, value);
    this.length += 8;
  }

  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function encodeInteger(w: Writer, n: number): void {
  if (n >= 0) {
    if (n <= 127) w.byte(n);
    else if (n <= 0xff) (w.byte(0xcc), w.uint(n, 1));
    else if (n <= 0xffff) (w.byte(0xcd), w.uint(n, 2));
    else if (n <= 0xffffffff) (w.byte(0xce), w.uint(n, 4));
    else (w.byte(0xcf), w.big64(BigInt(n)));
  } else {
    if (n >= -32) w.byte(0xe0 | (n + 32));
    else if (n >= -128) (w.byte(0xd0), w.uint(n & 0xff, 1));
    else if (n >= -32768) (w.byte(0xd1), w.uint(n & 0xffff, 2));
    else if (n >= -2147483648) (w.byte(0xd2), w.uint(n >>> 0, 4));
    else (w.byte(0xd3), w.big64(BigInt(n)));
  }
}

function encodeNumber(w: Writer, n: number): void {
  if (Number.isInteger(n) && n >= -(2 ** 63) && n < 2 ** 63) {
    encodeInteger(w, n);
  } else if (Math.fround(n) === n || Number.isNaN(n)) {
    w.byte(0xca);
    w.float32(n);
  } else {
    w.byte(0xcb);
    w.float64(n);
  }
}

function encodeBytes(w: Writer, b: Uint8Array): void {
  const n = b.length;
  if (n < 32) w.byte(0xa0 | n);
  else if (n <= 0xff) (w.byte(0xd9), w.uint(n, 1));
  else if (n <= 0xffff) (w.byte(0xda), w.uint(n, 2));
  else (w.byte(0xdb), w.uint(n, 4));
  w.bytes(b);
}

/** table_is_an_array: keys exactly 1..n (an empty table counts as an array). */
function isArray(L: LuaState, t: number): number {
  let count = 0;
  let max = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, t) !== 0) {
    lua.lua_pop(L, 1);
    if (lua.lua_type(L, -1) !== lua.LUA_TNUMBER) {
      lua.lua_pop(L, 1);
      return -1;
    }
    const k = lua.lua_tonumber(L, -1);
    if (k <= 0 || !Number.isInteger(k)) {
      lua.lua_pop(L, 1);
      return -1;
    }
    count++;
    if (k > max) max = k;
  }
  return max === count ? count : -1;
}

function encodeValue(L: LuaState, w: Writer, index: number, level: number): void {
  const i = lua.lua_absindex(L, index);
  switch (lua.lua_type(L, i)) {
    case lua.LUA_TSTRING:
      encodeBytes(w, lua.lua_tolstring(L, i));
      return;
    case lua.LUA_TBOOLEAN:
      w.byte(lua.lua_toboolean(L, i) ? 0xc3 : 0xc2);
      return;
    case lua.LUA_TNUMBER:
      encodeNumber(w, lua.lua_tonumber(L, i));
      return;
    case lua.LUA_TTABLE: {
      if (level === NESTING_MAX || !lua.lua_checkstack(L, 4)) {
        w.byte(0xc0);
        return;
      }
      const length = isArray(L, i);
      if (length >= 0) {
        if (length < 16) w.byte(0x90 | length);
        else if (length <= 0xffff) (w.byte(0xdc), w.uint(length, 2));
        else (w.byte(0xdd), w.uint(length, 4));
        for (let k = 1; k <= length; k++) {
          lua.lua_rawgeti(L, i, k);
          encodeValue(L, w, -1, level + 1);
          lua.lua_pop(L, 1);
        }
        return;
      }
      let count = 0;
      lua.lua_pushnil(L);
      while (lua.lua_next(L, i) !== 0) (lua.lua_pop(L, 1), count++);
      if (count < 16) w.byte(0x80 | count);
      else if (count <= 0xffff) (w.byte(0xde), w.uint(count, 2));
      else (w.byte(0xdf), w.uint(count, 4));
      lua.lua_pushnil(L);
      while (lua.lua_next(L, i) !== 0) {
        encodeValue(L, w, -2, level + 1);
        encodeValue(L, w, -1, level + 1);
        lua.lua_pop(L, 1);
      }
      return;
    }
    default:
      w.byte(0xc0); // nil, functions, userdata
  }
}

class Reader {
  pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly L: LuaState,
    private readonly s: Uint8Array,
  ) {
    this.view = new DataView(s.buffer, s.byteOffset, s.length);
  }

  private need(n: number): void {
    if (this.pos + n > this.s.length) fail(this.L, 'Missing bytes in input.');
  }

  private uint(size: 1 | 2 | 4): number {
    this.need(size);
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + this.s[this.pos++];
    return v;
  }

  private bytes(n: number): void {
    this.need(n);
    lua.lua_pushstring(this.L, this.s.slice(this.pos, this.pos + n));
    this.pos += n;
  }

  /** Decodes one object and pushes it. */
  one(): void {
    const L = this.L;
    if (!lua.lua_checkstack(L, 4)) fail(L, 'Bad data format in input.');
    this.need(1);
    const c = this.s[this.pos++];
    if (c <= 0x7f) return lua.lua_pushnumber(L, c);
    if (c >= 0xe0) return lua.lua_pushnumber(L, c - 256);
    if ((c & 0xe0) === 0xa0) return this.bytes(c & 0x1f);
    if ((c & 0xf0) === 0x90) return this.array(c & 0x0f);
    if ((c & 0xf0) === 0x80) return this.map(c & 0x0f);
    switch (c) {
      case 0xc0: return lua.lua_pushnil(L);
      case 0xc2: return lua.lua_pushboolean(L, false);
      case 0xc3: return lua.lua_pushboolean(L, true);
      case 0xcc: return lua.lua_pushnumber(L, this.uint(1));
      case 0xcd: return lua.lua_pushnumber(L, this.uint(2));
      case 0xce: return lua.lua_pushnumber(L, this.uint(4));
      case 0xcf: this.need(8); lua.lua_pushnumber(L, Number(this.view.getBigUint64(this.pos))); this.pos += 8; return;
      case 0xd0: this.need(1); lua.lua_pushnumber(L, this.view.getInt8(this.pos)); this.pos += 1; return;
      case 0xd1: this.need(2); lua.lua_pushnumber(L, this.view.getInt16(this.pos)); this.pos += 2; return;
      case 0xd2: this.need(4); lua.lua_pushnumber(L, this.view.getInt32(this.pos)); this.pos += 4; return;
      case 0xd3: this.need(8); lua.lua_pushnumber(L, Number(this.view.getBigInt64(this.pos))); this.pos += 8; return;
      case 0xca: this.need(4); lua.lua_pushnumber(L, this.view.getFloat32(this.pos)); this.pos += 4; return;
      case 0xcb: this.need(8); lua.lua_pushnumber(L, this.view.getFloat64(this.pos)); this.pos += 8; return;
      case 0xd9: case 0xc4: return this.bytes(this.uint(1));
      case 0xda: case 0xc5: return this.bytes(this.uint(2));
      case 0xdb: case 0xc6: return this.bytes(this.uint(4));
      case 0xdc: return this.array(this.uint(2));
      case 0xdd: return this.array(this.uint(4));
      case 0xde: return this.map(this.uint(2));
      case 0xdf: return this.map(this.uint(4));
      default: return fail(L, 'Bad data format in input.');
    }
  }

  private array(n: number): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 0);
    for (let i = 1; i <= n; i++) {
      this.one();
      lua.lua_rawseti(L, -2, i);
    }
  }

  private map(n: number): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 0);
    for (let i = 0; i < n; i++) {
      this.one();
      this.one();
      if (lua.lua_isnil(L, -2)) lua.lua_pop(L, 2);
      else lua.lua_rawset(L, -3);
    }
  }

  get done(): boolean {
    return this.pos >= this.s.length;
  }
}

/** Pushes the `cmsgpack` table. */
export function openCmsgpack(L: LuaState): void {
  lua.lua_createtable(L, 0, 4);
  const pack = (Ls: LuaState): number => {
    const argc = lua.lua_gettop(Ls);
    if (argc === 0) fail(Ls, 'MessagePack pack needs input.');
    const w = new Writer();
    for (let i = 1; i <= argc; i++) encodeValue(Ls, w, i, 0);
    lua.lua_pushstring(Ls, w.result().slice());
    return 1;
  };
  const unpack = (limit: 'all' | 'one' | 'limit') => (Ls: LuaState): number => {
    const s = lauxlib.luaL_checklstring(Ls, 1);
    let max = limit === 'one' ? 1 : Infinity;
    let offset = 0;
    if (limit === 'limit') {
      max = lauxlib.luaL_optnumber(Ls, 2, 0) || Infinity;
      offset = lauxlib.luaL_optnumber(Ls, 3, 0);
    } else if (limit === 'one') offset = lauxlib.luaL_optnumber(Ls, 2, 0);
    const base = lua.lua_gettop(Ls);
    const r = new Reader(Ls, s);
    r.pos = offset;
    let count = 0;
    if (limit !== 'all') lua.lua_pushnil(Ls); // placeholder for the next offset
    while (!r.done && count < max) {
      r.one();
      count++;
    }
    if (limit !== 'all') {
      lua.lua_pushnumber(Ls, r.done ? -1 : r.pos);
      lua.lua_replace(Ls, base + 1);
    }
    return lua.lua_gettop(Ls) - base;
  };
  const functions: Record<string, (Ls: LuaState) => number> = {
    pack,
    unpack: unpack('all'),
    unpack_one: unpack('one'),
    unpack_limit: unpack('limit'),
  };
  for (const [name, fn] of Object.entries(functions)) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, nameBytes(name));
  }
}
