// The `bit` library Redis bundles (LuaBitOp 1.0): 32-bit operations on Lua numbers.
//
// LuaBitOp normalises every argument by adding 2^52+2^51 to the double and keeping the low 32 bits,
// which rounds to nearest-even and wraps modulo 2^32; results are signed 32-bit numbers.

import { vm, type LuaState } from './fengari_vm';
import { nameBytes, pushText } from './lua_values';

const { lua, lauxlib } = vm;

/** LuaBitOp's barg(): round to nearest (ties to even), then wrap to int32. */
export function toBit(n: number): number {
  if (!Number.isFinite(n)) return 0;
  let r = Math.round(n);
  if (Math.abs(n % 1) === 0.5 && r % 2 !== 0) r -= 1; // Math.round rounds ties up; LuaBitOp to even
  return Number(BigInt.asIntN(32, BigInt(r)));
}

function arg(L: LuaState, index: number): number {
  return toBit(lauxlib.luaL_checknumber(L, index));
}

function result(L: LuaState, value: number): number {
  lua.lua_pushnumber(L, value | 0);
  return 1;
}

function fold(op: (a: number, b: number) => number): (L: LuaState) => number {
  return (L) => {
    let acc = arg(L, 1);
    for (let i = lua.lua_gettop(L); i > 1; i--) acc = op(acc, arg(L, i));
    return result(L, acc);
  };
}

const functions: Record<string, (L: LuaState) => number> = {
  tobit: (L) => result(L, arg(L, 1)),
  bnot: (L) => result(L, ~arg(L, 1)),
  band: fold((a, b) => a & b),
  bor: fold((a, b) => a | b),
  bxor: fold((a, b) => a ^ b),
  lshift: (L) => result(L, arg(L, 1) << (arg(L, 2) & 31)),
  rshift: (L) => result(L, arg(L, 1) >>> (arg(L, 2) & 31)),
  arshift: (L) => result(L, arg(L, 1) >> (arg(L, 2) & 31)),
  rol: (L) => {
    const x = arg(L, 1);
    const n = arg(L, 2) & 31;
    return result(L, (x << n) | (x >>> ((32 - n) & 31)));
  },
  ror: (L) => {
    const x = arg(L, 1);
    const n = arg(L, 2) & 31;
    return result(L, (x >>> n) | (x << ((32 - n) & 31)));
  },
  bswap: (L) => {
    const x = arg(L, 1);
    return result(L, ((x >>> 24) & 0xff) | ((x >>> 8) & 0xff00) | ((x & 0xff00) << 8) | (x << 24));
  },
  tohex: (L) => {
    const x = arg(L, 1);
    let n = lua.lua_isnoneornil(L, 2) ? 8 : arg(L, 2);
    let upper = false;
    if (n < 0) {
      n = -n;
      upper = true;
    }
    if (n > 8) n = 8;
    let hex = (x >>> 0).toString(16).padStart(8, '0').slice(8 - n);
    if (upper) hex = hex.toUpperCase();
    pushText(L, hex);
    return 1;
  },
};

/** Pushes the `bit` table. */
export function openBit(L: LuaState): void {
  lua.lua_createtable(L, 0, Object.keys(functions).length);
  for (const [name, fn] of Object.entries(functions)) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, nameBytes(name));
  }
}
