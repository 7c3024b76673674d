// Moving values between the Lua stack and the server: binary strings, Reply values, error tables.
//
// Lua strings are bytes (fengari: Uint8Array) and the server's strings are binary strings (one char
// per byte, see src/resp/reply.ts), so conversion is byte for byte: no UTF-8 anywhere, and `#s`
// counts bytes. The Reply <-> Lua rules are Redis's (script_lua.c), listed in clients.md §6.6.

/* eslint-disable @typescript-eslint/no-explicit-any */
import {
  BigNumberReply,
  BoolReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArray,
  PushReply,
  SetReply,
  SimpleString,
  VerbatimReply,
  type Reply,
} from '../../resp/reply';
import { vm, type LuaState } from './fengari_vm';
import { formatShortest, truncateToInteger } from './number_format';

const { lua } = vm;

/** Binary string -> Lua bytes. */
export function toBytes(text: string): Uint8Array {
  const n = text.length;
  if (n > 64) return Buffer.from(text, 'latin1');
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Lua bytes -> binary string. */
export function fromBytes(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n > 64) return Buffer.from(bytes.buffer, bytes.byteOffset, n).toString('latin1');
  let out = '';
  for (let i = 0; i < n; i++) out += String.fromCharCode(bytes[i]);
  return out;
}

const nameCache = new Map<string, Uint8Array>();
/** Lua bytes for an ASCII name used by the bridge (field names, globals); cached. */
export function nameBytes(name: string): Uint8Array {
  let bytes = nameCache.get(name);
  if (bytes === undefined) {
    bytes = toBytes(name);
    nameCache.set(name, bytes);
  }
  return bytes;
}

export function pushText(L: LuaState, text: string): void {
  lua.lua_pushstring(L, toBytes(text));
}

/** The string at `index` as a binary string, or null if it is not a string (numbers are not coerced). */
export function readString(L: LuaState, index: number): string | null {
  if (lua.lua_type(L, index) !== lua.LUA_TSTRING) return null;
  return fromBytes(lua.lua_tolstring(L, index));
}

/** Sets t[name] = value string for the table on top of the stack. */
function setStringField(L: LuaState, name: string, value: string): void {
  lua.lua_pushstring(L, toBytes(value));
  lua.lua_setfield(L, -2, nameBytes(name));
}

/**
 * Pushes Redis's error table `{err = "CODE msg"}` (luaPushErrorBuff): a leading '-' is dropped and
 * its first word is the code; text without a '-' gets the generic code ERR; trailing CR/LF trimmed.
 */
export function pushErrorTable(L: LuaState, text: string): void {
  let message: string;
  if (text.startsWith('-')) {
    const space = text.indexOf(' ');
    message = space === -1 ? `ERR ${text.slice(1)}` : `${text.slice(1, space)} ${text.slice(space + 1)}`;
  } else {
    message = `ERR ${text}`;
  }
  message = message.replace(/[\r\n]+$/, '');
  lua.lua_createtable(L, 0, 1);
  setStringField(L, 'err', message);
}

/** An ErrorReply from a command, as the `{err=...}` table redis.call raises and redis.pcall returns. */
export function pushCommandError(L: LuaState, reply: ErrorReply): void {
  pushErrorTable(L, `-${reply.message}`);
}

/** RESP reply -> Lua value (redisProtocolToLuaType), for a script in RESP `resp` mode. */
export function pushReply(L: LuaState, reply: Reply, resp: 2 | 3): void {
  if (reply === null || reply === NullArray.instance) {
    if (resp === 2) lua.lua_pushboolean(L, false);
    else lua.lua_pushnil(L);
    return;
  }
  switch (typeof reply) {
    case 'number':
      lua.lua_pushnumber(L, reply);
      return;
    case 'string':
      lua.lua_pushstring(L, toBytes(reply));
      return;
    case 'bigint':
      lua.lua_pushnumber(L, Number(reply));
      return;
  }
  if (Array.isArray(reply)) {
    pushArray(L, reply, resp);
  } else if (reply instanceof SimpleString) {
    lua.lua_createtable(L, 0, 1);
    setStringField(L, 'ok', reply.value);
  } else if (reply instanceof ErrorReply) {
    pushCommandError(L, reply);
  } else if (reply instanceof MapReply) {
    if (resp === 2) {
      const flat: Reply[] = [];
      for (const [k, v] of reply.entries) flat.push(k, v);
      pushArray(L, flat, resp);
      return;
    }
    lua.lua_createtable(L, 0, 1);
    lua.lua_createtable(L, 0, reply.entries.length);
    for (const [k, v] of reply.entries) {
      pushReply(L, k, resp);
      pushReply(L, v, resp);
      lua.lua_rawset(L, -3);
    }
    lua.lua_setfield(L, -2, nameBytes('map'));
  } else if (reply instanceof SetReply) {
    if (resp === 2) {
      pushArray(L, reply.items, resp);
      return;
    }
    lua.lua_createtable(L, 0, 1);
    lua.lua_createtable(L, 0, reply.items.length);
    for (const item of reply.items) {
      pushReply(L, item, resp);
      lua.lua_pushboolean(L, true);
      lua.lua_rawset(L, -3);
    }
    lua.lua_setfield(L, -2, nameBytes('set'));
  } else if (reply instanceof DoubleReply) {
    if (resp === 2) {
      lua.lua_pushstring(L, toBytes(formatShortest(reply.value)));
      return;
    }
    lua.lua_createtable(L, 0, 1);
    lua.lua_pushnumber(L, reply.value);
    lua.lua_setfield(L, -2, nameBytes('double'));
  } else if (reply instanceof BoolReply) {
    if (resp === 2) lua.lua_pushnumber(L, reply.value ? 1 : 0);
    else lua.lua_pushboolean(L, reply.value);
  } else if (reply instanceof VerbatimReply) {
    if (resp === 2) {
      lua.lua_pushstring(L, toBytes(reply.text));
      return;
    }
    lua.lua_createtable(L, 0, 1);
    lua.lua_createtable(L, 0, 2);
    setStringField(L, 'format', reply.format);
    setStringField(L, 'string', reply.text);
    lua.lua_setfield(L, -2, nameBytes('verbatim_string'));
  } else if (reply instanceof BigNumberReply) {
    if (resp === 2) {
      lua.lua_pushstring(L, toBytes(reply.digits));
      return;
    }
    lua.lua_createtable(L, 0, 1);
    setStringField(L, 'big_number', reply.digits);
  } else if (reply instanceof PushReply) {
    pushArray(L, reply.items, resp);
  } else {
    throw new TypeError(`unknown reply value ${String(reply)}`);
  }
}

function pushArray(L: LuaState, items: Reply[], resp: 2 | 3): void {
  if (!lua.lua_checkstack(L, 4)) throw new RangeError('reply nesting exceeds the Lua stack');
  lua.lua_createtable(L, items.length, 0);
  for (let i = 0; i < items.length; i++) {
    pushReply(L, items[i], resp);
    lua.lua_rawseti(L, -2, i + 1);
  }
}

/** Nesting deeper than this in a returned table (or a table that contains itself) is refused. */
export const REPLY_DEPTH_MAX = 200;
const DEPTH_ERROR = new ErrorReply('ERR reached lua stack limit');

/** Reads a string field of the table at `index` (raw), or null. */
function rawStringField(L: LuaState, index: number, name: string): string | null {
  lua.lua_pushstring(L, nameBytes(name));
  lua.lua_rawget(L, index);
  const value = lua.lua_type(L, -1) === lua.LUA_TSTRING ? fromBytes(lua.lua_tolstring(L, -1)) : null;
  lua.lua_pop(L, 1);
  return value;
}

/** Pushes the raw field `name` of the table at `index` and returns its type. */
function rawField(L: LuaState, index: number, name: string): number {
  lua.lua_pushstring(L, nameBytes(name));
  lua.lua_rawget(L, index);
  return lua.lua_type(L, -1);
}

function statusText(text: string): string {
  return text.replace(/[\r\n]/g, ' ');
}

/** Lua value at `index` -> Reply (luaReplyToRedisReply), for a script in RESP `resp` mode. */
export function toReply(L: LuaState, index: number, resp: 2 | 3, depth = 0): Reply {
  const absolute = lua.lua_absindex(L, index);
  switch (lua.lua_type(L, absolute)) {
    case lua.LUA_TSTRING:
      return fromBytes(lua.lua_tolstring(L, absolute));
    case lua.LUA_TBOOLEAN:
      if (resp === 3) return new BoolReply(lua.lua_toboolean(L, absolute));
      return lua.lua_toboolean(L, absolute) ? 1 : null;
    case lua.LUA_TNUMBER:
      return truncateToInteger(lua.lua_tonumber(L, absolute));
    case lua.LUA_TTABLE:
      if (depth >= REPLY_DEPTH_MAX) return DEPTH_ERROR;
      return tableToReply(L, absolute, resp, depth + 1);
    default:
      return null; // nil, functions, userdata: a null reply, as Redis does
  }
}

function tableToReply(L: LuaState, t: number, resp: 2 | 3, depth: number): Reply {
  const top = lua.lua_gettop(L);
  if (!lua.lua_checkstack(L, 8)) return DEPTH_ERROR;
  const err = rawStringField(L, t, 'err');
  if (err !== null) return new ErrorReply(statusText(err));
  const ok = rawStringField(L, t, 'ok');
  if (ok !== null) return new SimpleString(statusText(ok));
  try {
    if (rawField(L, t, 'double') === lua.LUA_TNUMBER) return new DoubleReply(lua.lua_tonumber(L, -1));
    lua.lua_pop(L, 1);
    if (rawField(L, t, 'big_number') === lua.LUA_TSTRING) return new BigNumberReply(statusText(fromBytes(lua.lua_tolstring(L, -1))));
    lua.lua_pop(L, 1);
    if (rawField(L, t, 'map') === lua.LUA_TTABLE) {
      const entries: Array<[Reply, Reply]> = [];
      const m = lua.lua_gettop(L);
      lua.lua_pushnil(L);
      while (lua.lua_next(L, m) !== 0) {
        const key = toReply(L, -2, resp, depth);
        const value = toReply(L, -1, resp, depth);
        entries.push([key, value]);
        lua.lua_pop(L, 1);
      }
      return new MapReply(entries);
    }
    lua.lua_pop(L, 1);
    if (rawField(L, t, 'set') === lua.LUA_TTABLE) {
      const items: Reply[] = [];
      const s = lua.lua_gettop(L);
      lua.lua_pushnil(L);
      while (lua.lua_next(L, s) !== 0) {
        lua.lua_pop(L, 1);
        items.push(toReply(L, -1, resp, depth));
      }
      return new SetReply(items);
    }
    lua.lua_pop(L, 1);
    if (rawField(L, t, 'verbatim_string') === lua.LUA_TTABLE) {
      const v = lua.lua_gettop(L);
      const format = rawStringField(L, v, 'format');
      const text = rawStringField(L, v, 'string');
      if (format !== null && text !== null) return new VerbatimReply(format, text);
    }
    lua.lua_pop(L, 1);
    const items: Reply[] = [];
    for (let i = 1; ; i++) {
      if (lua.lua_rawgeti(L, t, i) === lua.LUA_TNIL) break;
      items.push(toReply(L, -1, resp, depth));
      lua.lua_pop(L, 1);
    }
    return items;
  } finally {
    lua.lua_settop(L, top); // drop whatever the branch left on the stack
  }
}
