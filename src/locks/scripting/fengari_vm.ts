// Loads fengari (Lua 5.3 written in JS) with the few changes that make it behave like Redis's Lua 5.1.
//
// fengari is plain CommonJS whose modules copy each other's functions at load time, so the changes
// must be made to a module's exports *before* the modules that import them are loaded. That is why
// this file requires fengari's internals one by one in a fixed order and asserts that nobody loaded
// fengari before it. The changes:
//  - numbers print like 5.1 (C "%.14g", no "2.0"): luaconf's number formatter, LUA_COMPAT_FLOATSTRING;
//  - every numeral and string->number conversion yields a float, as 5.1 has only doubles. fengari's
//    integers are 32-bit, so `tonumber(ARGV[1]) * 1000` would otherwise wrap around at 2^31;
//  - a smaller Lua stack (deep recursion fails fast with "stack overflow");
//  - allocation accounting: every string created, every string buffer grown and every table slot
//    added is reported to `allocationHooks.charge`, which the engine uses for its per-script memory
//    cap. The count only grows during a script (frees are not seen), which makes it deterministic;
//  - read-only tables (Redis 7's lua_enablereadonlytable): any write to a table marked with
//    `markReadonly` raises "Attempt to modify a readonly table", rawset and table.insert included.

/* eslint-disable @typescript-eslint/no-explicit-any */
import { strict as assert } from 'node:assert';
import { formatG14 } from './number_format';

// fengari ships no type declarations; the engine goes through this one loosely typed door.
export type LuaState = any;

assert(
  require.cache[require.resolve('fengari/src/lapi.js')] === undefined,
  'fengari was loaded before src/locks/scripting/fengari_vm; its patches would not apply',
);

/** Set by the engine while a script runs; called with a byte estimate before memory is taken. */
export const allocationHooks: { charge: ((bytes: number) => void) | null; readonlyViolation: ((L: LuaState) => void) | null } = {
  charge: null,
  readonlyViolation: null,
};

const STRING_OVERHEAD_BYTES = 24;
const TABLE_SLOT_BYTES = 48;
const TABLE_BYTES = 64;

require('fengari/src/fengaricore.js');
const luaconf = require('fengari/src/luaconf.js');
luaconf.lua_number2str = formatG14;
luaconf.LUA_COMPAT_FLOATSTRING = true;
luaconf.LUAI_MAXSTACK = 200000;

const lstring = require('fengari/src/lstring.js');
const blessOriginal = lstring.luaS_bless;
lstring.luaS_bless = function luaS_bless(L: LuaState, bytes: Uint8Array) {
  const charge = allocationHooks.charge;
  if (charge !== null) charge(bytes.length + STRING_OVERHEAD_BYTES);
  return blessOriginal(L, bytes);
};
// luaS_new and luaS_newliteral call the module-local luaS_bless; route them through the wrapper.
lstring.luaS_new = function luaS_new(L: LuaState, bytes: Uint8Array) {
  return lstring.luaS_bless(L, Uint8Array.from(bytes));
};
const newLiteralOriginal = lstring.luaS_newliteral;
lstring.luaS_newliteral = function luaS_newliteral(L: LuaState, text: string) {
  const ts = newLiteralOriginal(L, text);
  const charge = allocationHooks.charge;
  if (charge !== null) charge(ts.realstring.length + STRING_OVERHEAD_BYTES);
  return ts;
};

const lua = require('fengari/src/lua.js');
const lauxlib = require('fengari/src/lauxlib.js');

// String buffers (string.rep, string.format, gsub, table.concat...) are charged before they grow,
// so `('x'):rep(1e9)` fails on the accounting check instead of allocating a gigabyte first.
function chargeGrowth(B: { b: Uint8Array; n: number }, extraBytes: number): void {
  const charge = allocationHooks.charge;
  if (charge === null) return;
  const needed = B.n + extraBytes;
  if (needed > B.b.length) charge(Math.max(B.b.length * 2, needed));
}
const prepOriginal = lauxlib.luaL_prepbuffsize;
lauxlib.luaL_prepbuffsize = function luaL_prepbuffsize(B: any, size: number) {
  chargeGrowth(B, size);
  return prepOriginal(B, size);
};
const initSizeOriginal = lauxlib.luaL_buffinitsize;
lauxlib.luaL_buffinitsize = function luaL_buffinitsize(L: LuaState, B: any, size: number) {
  const charge = allocationHooks.charge;
  if (charge !== null) charge(size);
  return initSizeOriginal(L, B, size);
};
const addLStringOriginal = lauxlib.luaL_addlstring;
lauxlib.luaL_addlstring = function luaL_addlstring(B: any, s: Uint8Array, length: number) {
  chargeGrowth(B, length);
  return addLStringOriginal(B, s, length);
};
const addStringOriginal = lauxlib.luaL_addstring;
lauxlib.luaL_addstring = function luaL_addstring(B: any, s: Uint8Array) {
  chargeGrowth(B, s.length);
  return addStringOriginal(B, s);
};
const addCharOriginal = lauxlib.luaL_addchar;
lauxlib.luaL_addchar = function luaL_addchar(B: any, c: number) {
  chargeGrowth(B, 1);
  return addCharOriginal(B, c);
};
const addValueOriginal = lauxlib.luaL_addvalue;
lauxlib.luaL_addvalue = function luaL_addvalue(B: any) {
  const s = lua.lua_tolstring(B.L, -1);
  if (s !== null) chargeGrowth(B, s.length);
  return addValueOriginal(B);
};

const fengari = require('fengari');

// Module-object call sites (lvm, lapi, llex use `lobject.x` / `ltable.x`) can be patched after load.
const lobject = require('fengari/src/lobject.js');
const str2numOriginal = lobject.luaO_str2num;
lobject.luaO_str2num = function luaO_str2num(s: Uint8Array, o: any) {
  const size = str2numOriginal(s, o);
  if (size !== 0 && o.ttisinteger()) o.setfltvalue(o.value);
  return size;
};

const ltable = require('fengari/src/ltable.js');
const READONLY = Symbol('readonly');
const setIntOriginal = ltable.luaH_setint;
ltable.luaH_setint = function luaH_setint(t: any, key: number, value: any) {
  if (t[READONLY] === true) readonlyViolation(null);
  const before = t.strong.size;
  setIntOriginal(t, key, value);
  if (t.strong.size > before) chargeSlot();
};
const setFromOriginal = ltable.luaH_setfrom;
ltable.luaH_setfrom = function luaH_setfrom(L: LuaState, t: any, key: any, value: any) {
  if (t[READONLY] === true) readonlyViolation(L);
  const before = t.strong.size;
  setFromOriginal(L, t, key, value);
  if (t.strong.size > before) chargeSlot();
};
const newTableOriginal = ltable.luaH_new;
ltable.luaH_new = function luaH_new(L: LuaState) {
  const charge = allocationHooks.charge;
  if (charge !== null) charge(TABLE_BYTES);
  return newTableOriginal(L);
};

function chargeSlot(): void {
  const charge = allocationHooks.charge;
  if (charge !== null) charge(TABLE_SLOT_BYTES);
}

function readonlyViolation(L: LuaState | null): void {
  const handler = allocationHooks.readonlyViolation;
  if (handler !== null) handler(L);
}

/** Marks the table at `index` read-only for every later write, raw or not. */
export function markReadonly(L: LuaState, index: number): void {
  const table = lua.lua_topointer(L, index);
  assert(table !== null && lua.lua_type(L, index) === lua.LUA_TTABLE, 'markReadonly needs a table');
  table[READONLY] = true;
}

const ldebug = require('fengari/src/ldebug.js');
const ldo = require('fengari/src/ldo.js');

export const vm = {
  lua: fengari.lua,
  lauxlib: fengari.lauxlib,
  lualib: fengari.lualib,
  luaG_runerror: ldebug.luaG_runerror as (L: LuaState, fmt: Uint8Array) => never,
  luaD_throw: ldo.luaD_throw as (L: LuaState, status: number) => never,
  version: require('fengari/package.json').version as string,
};
