/* eslint-disable @typescript-eslint/no-explicit-any */
import { vm, type LuaState } from './fengari_vm';
const { lua } = vm;
export function openBit(L: LuaState): void {
  lua.lua_createtable(L, 0, 8);
}
