// The `cjson` library Redis bundles (lua-cjson 2.1), with its conventions: an empty table encodes
// as `{}`, tables with only positive integer keys are arrays (holes become null, excessively sparse
// ones are refused), numbers print with 14 significant digits, '/' is escaped, cjson.null is a
// sentinel. Strings are bytes both ways: encode copies bytes >= 0x80 as they are, decode turns
// \uXXXX escapes into UTF-8 bytes.

import { vm, type LuaState } from './fengari_vm';
import { fromBytes, nameBytes, pushText, toBytes } from './lua_values';
import { formatG14 } from './number_format';

const { lua, lauxlib } = vm;

const DEPTH_MAX = 1000;
const SPARSE_RATIO = 2;
const SPARSE_SAFE = 10;

/** The value cjson.null stands for (a light userdata: comparable, opaque to scripts). */
const NULL_SENTINEL = Object.freeze({ cjsonNull: true });

function fail(L: LuaState, message: string): never {
  lauxlib.luaL_error(L, nameBytes('%s'), toBytes(message));
  throw new Error('unreachable');
}

const ESCAPES: string[] = [];
for (let c = 0; c < 256; c++) {
  if (c < 0x20 || c === 0x7f) ESCAPES[c] = `\\u${c.toString(16).padStart(4, '0')}`;
}
ESCAPES[0x08] = '\\b';
ESCAPES[0x09] = '\\t';
ESCAPES[0x0a] = '\\n';
ESCAPES[0x0c] = '\\f';
ESCAPES[0x0d] = '\\r';
ESCAPES[0x22] = '\\"';
ESCAPES[0x2f] = '\\/';
ESCAPES[0x5c] = '\\\\';

function encodeString(bytes: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < bytes.length; i++) {
    const escape = ESCAPES[bytes[i]];
    out += escape === undefined ? String.fromCharCode(bytes[i]) : escape;
  }
  return out + '"';
}

function typeName(L: LuaState, index: number): string {
  return fromBytes(lua.lua_typename(L, lua.lua_type(L, index)));
}

/** lua_array_length: the array length, or -1 for an object. */
function arrayLength(L: LuaState, t: number): number {
  let max = 0;
  let items = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, t) !== 0) {
    if (lua.lua_type(L, -2) === lua.LUA_TNUMBER) {
      const k = lua.lua_tonumber(L, -2);
      if (Math.floor(k) === k && k >= 1) {
        if (k > max) max = k;
        items++;
        lua.lua_pop(L, 1);
        continue;
      }
    }
    lua.lua_pop(L, 2);
    return -1;
  }
  if (max > items * SPARSE_RATIO && max > SPARSE_SAFE) fail(L, 'Cannot serialise table: excessively sparse array');
  return max;
}

function encodeValue(L: LuaState, index: number, depth: number): string {
  const i = lua.lua_absindex(L, index);
  switch (lua.lua_type(L, i)) {
    case lua.LUA_TSTRING:
      return encodeString(lua.lua_tolstring(L, i));
    case lua.LUA_TNUMBER: {
      const n = lua.lua_tonumber(L, i);
      if (!Number.isFinite(n)) fail(L, 'Cannot serialise number: must not be NaN or Inf');
      return formatG14(n);
    }
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, i) ? 'true' : 'false';
    case lua.LUA_TNIL:
      return 'null';
    case lua.LUA_TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, i) === NULL_SENTINEL) return 'null';
      break;
    case lua.LUA_TTABLE: {
      const next = depth + 1;
      if (next > DEPTH_MAX) fail(L, `Cannot serialise, excessive nesting (${next})`);
      if (!lua.lua_checkstack(L, 4)) fail(L, `Cannot serialise, excessive nesting (${next})`);
      const length = arrayLength(L, i);
      if (length > 0) {
        const parts: string[] = [];
        for (let k = 1; k <= length; k++) {
          lua.lua_rawgeti(L, i, k);
          parts.push(encodeValue(L, -1, next));
          lua.lua_pop(L, 1);
        }
        return `[${parts.join(',')}]`;
      }
      const parts: string[] = [];
      lua.lua_pushnil(L);
      while (lua.lua_next(L, i) !== 0) {
        let key: string;
        const keyType = lua.lua_type(L, -2);
        if (keyType === lua.LUA_TSTRING) key = encodeString(lua.lua_tolstring(L, -2));
        else if (keyType === lua.LUA_TNUMBER) key = `"${formatG14(lua.lua_tonumber(L, -2))}"`;
        else fail(L, 'Cannot serialise table: table key must be a number or string');
        parts.push(`${key}:${encodeValue(L, -1, next)}`);
        lua.lua_pop(L, 1);
      }
      return `{${parts.join(',')}}`;
    }
  }
  return fail(L, `Cannot serialise ${typeName(L, i)}: type not supported`);
}

/** A byte-level JSON reader that pushes what it reads straight onto the Lua stack. */
class Decoder {
  private pos = 0;

  constructor(
    private readonly L: LuaState,
    private readonly s: Uint8Array,
  ) {}

  decode(): void {
    this.value(0);
    this.skipSpace();
    if (this.pos < this.s.length) this.unexpected('the end');
  }

  private unexpected(expected: string): never {
    const found = this.pos >= this.s.length ? 'T_END' : 'invalid token';
    return fail(this.L, `Expected ${expected} but found ${found} at character ${this.pos + 1}`);
  }

  private skipSpace(): void {
    const s = this.s;
    while (this.pos < s.length && (s[this.pos] === 0x20 || s[this.pos] === 0x09 || s[this.pos] === 0x0a || s[this.pos] === 0x0d)) this.pos++;
  }

  private literal(text: string): boolean {
    for (let i = 0; i < text.length; i++) if (this.s[this.pos + i] !== text.charCodeAt(i)) return false;
    this.pos += text.length;
    return true;
  }

  private value(depth: number): void {
    const L = this.L;
    this.skipSpace();
    const c = this.s[this.pos];
    if (c === 0x7b || c === 0x5b) {
      if (depth + 1 > DEPTH_MAX) fail(L, `Found too many nested data structures (${depth + 1}) at character ${this.pos + 1}`);
      if (!lua.lua_checkstack(L, 4)) fail(L, `Found too many nested data structures (${depth + 1}) at character ${this.pos + 1}`);
      this.pos++;
      if (c === 0x7b) this.object(depth + 1);
      else this.array(depth + 1);
    } else if (c === 0x22) {
      lua.lua_pushstring(L, this.string());
    } else if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
      lua.lua_pushnumber(L, this.number());
    } else if (this.literal('true')) lua.lua_pushboolean(L, true);
    else if (this.literal('false')) lua.lua_pushboolean(L, false);
    else if (this.literal('null')) lua.lua_pushlightuserdata(L, NULL_SENTINEL);
    else this.unexpected('value');
  }

  private object(depth: number): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 0);
    this.skipSpace();
    if (this.s[this.pos] === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipSpace();
      if (this.s[this.pos] !== 0x22) this.unexpected('object key string');
      lua.lua_pushstring(L, this.string());
      this.skipSpace();
      if (this.s[this.pos] !== 0x3a) this.unexpected('colon');
      this.pos++;
      this.value(depth);
      lua.lua_rawset(L, -3);
      this.skipSpace();
      const c = this.s[this.pos++];
      if (c === 0x7d) return;
      if (c !== 0x2c) {
        this.pos--;
        this.unexpected('comma or object end');
      }
    }
  }

  private array(depth: number): void {
    const L = this.L;
    lua.lua_createtable(L, 0, 0);
    this.skipSpace();
    if (this.s[this.pos] === 0x5d) {
      this.pos++;
      return;
    }
    for (let i = 1; ; i++) {
      this.value(depth);
      lua.lua_rawseti(L, -2, i);
      this.skipSpace();
      const c = this.s[this.pos++];
      if (c === 0x5d) return;
      if (c !== 0x2c) {
        this.pos--;
        this.unexpected('comma or array end');
      }
    }
  }

  private number(): number {
    const start = this.pos;
    const s = this.s;
    while (this.pos < s.length && /[0-9+\-.eE]/.test(String.fromCharCode(s[this.pos]))) this.pos++;
    const text = fromBytes(s.subarray(start, this.pos));
    const n = Number(text);
    if (text.length === 0 || Number.isNaN(n) || !/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(text)) {
      this.pos = start;
      this.unexpected('value');
    }
    return n;
  }

  private string(): Uint8Array {
    const s = this.s;
    this.pos++; // opening quote
    const out: number[] = [];
    for (;;) {
      if (this.pos >= s.length) this.unexpected('string end');
      const c = s[this.pos++];
      if (c === 0x22) break;
      if (c !== 0x5c) {
        out.push(c);
        continue;
      }
      const e = s[this.pos++];
      switch (e) {
        case 0x22: case 0x5c: case 0x2f: out.push(e); break;
        case 0x62: out.push(0x08); break;
        case 0x66: out.push(0x0c); break;
        case 0x6e: out.push(0x0a); break;
        case 0x72: out.push(0x0d); break;
        case 0x74: out.push(0x09); break;
        case 0x75: {
          let code = this.hex4();
          if (code >= 0xd800 && code <= 0xdbff && s[this.pos] === 0x5c && s[this.pos + 1] === 0x75) {
            this.pos += 2;
            const low = this.hex4();
            if (low < 0xdc00 || low > 0xdfff) this.unexpected('valid unicode escape');
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          }
          for (const byte of Buffer.from(String.fromCodePoint(code), 'utf8')) out.push(byte);
          break;
        }
        default:
          this.pos -= 2;
          this.unexpected('valid escape');
      }
    }
    return Uint8Array.from(out);
  }

  private hex4(): number {
    const text = fromBytes(this.s.subarray(this.pos, this.pos + 4));
    if (!/^[0-9a-fA-F]{4}$/.test(text)) this.unexpected('unicode escape');
    this.pos += 4;
    return parseInt(text, 16);
  }
}

const functions: Record<string, (L: LuaState) => number> = {
  encode: (L) => {
    if (lua.lua_gettop(L) !== 1) fail(L, 'bad argument #1 to \'encode\' (expected 1 argument)');
    pushText(L, encodeValue(L, 1, 0));
    return 1;
  },
  decode: (L) => {
    if (lua.lua_gettop(L) !== 1) fail(L, 'bad argument #1 to \'decode\' (expected 1 argument)');
    const text = lauxlib.luaL_checklstring(L, 1);
    new Decoder(L, text).decode();
    return 1;
  },
};

/** Configuration setters exist for compatibility; they report the defaults and change nothing. */
const settings: Record<string, number[] | [boolean]> = {
  encode_max_depth: [DEPTH_MAX],
  decode_max_depth: [DEPTH_MAX],
  encode_number_precision: [14],
  encode_keep_buffer: [true],
  encode_invalid_numbers: [false],
  decode_invalid_numbers: [true],
  encode_sparse_array: [0, SPARSE_RATIO, SPARSE_SAFE],
};

/** Pushes the `cjson` table. */
export function openCjson(L: LuaState): void {
  lua.lua_createtable(L, 0, 12);
  for (const [name, fn] of Object.entries(functions)) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, nameBytes(name));
  }
  for (const [name, values] of Object.entries(settings)) {
    lua.lua_pushcfunction(L, (Ls: LuaState) => {
      for (const v of values) {
        if (typeof v === 'boolean') lua.lua_pushboolean(Ls, v);
        else lua.lua_pushnumber(Ls, v);
      }
      return values.length;
    });
    lua.lua_setfield(L, -2, nameBytes(name));
  }
  lua.lua_pushlightuserdata(L, NULL_SENTINEL);
  lua.lua_setfield(L, -2, nameBytes('null'));
  pushText(L, 'lua-cjson 2.1.0');
  lua.lua_setfield(L, -2, nameBytes('_VERSION'));
}
