// The scripting package: the Lua engine the state machine calls for EVAL / EVALSHA / EVAL_RO.
export { createLuaEngine, LuaEngine, INSTRUCTION_BUDGET_DEFAULT, MEMORY_BYTES_MAX_DEFAULT, type LuaEngineOptions } from './lua_engine';
export type { ScriptEngine, ScriptHost, ScriptRunOptions } from './types';
