// The Lua engine behind EVAL / EVALSHA / EVAL_RO: runs Redis scripts deterministically inside apply().
//
// VM choice, measured with bench/lua_vm_compare.ts (Node 20, 2 cores; minimal bridge on each VM,
// tiny in-memory host; runs/s of whole script runs, KEYS/ARGV set up each time):
//
//   | figure                                   | fengari 0.1.5 (Lua 5.3 in JS) | wasmoon 1.16.0 (Lua 5.4 in wasm) |
//   |------------------------------------------|-------------------------------|----------------------------------|
//   | redlock 4.2.0 lock script, 1 key         |  ~38,000 runs/s (raw C API)   |  ~22,000 runs/s (its JS API)     |
//   | redis-semaphore acquire script           |  ~34,000 runs/s               |  ~18,000 runs/s                  |
//   | this engine, all on (bench/lua_engine.ts)|  redlock lock/unlock ~23-28k scripts/s, semaphore acquire ~37k/s, multi acquire ~7-10k/s | - |
//   | 10M-iteration arithmetic loop (pure VM)  |  ~1,250 ms                    |  ~175 ms                         |
//   | startup                                  |  ~7 ms, synchronous           |  ~35 ms, async only (wasm init)  |
//   | instruction budget                       |  lua_sethook count, JS hook   |  lua_sethook via a wasm fn ptr   |
//   | memory cap                               |  allocation accounting (patched string/buffer/table allocation; deterministic, counts bytes allocated, not live) | real allocator cap (live bytes; depends on GC timing, so not deterministic across replicas) |
//   | binary-safe strings                      |  native (Lua strings are Uint8Array) | needs raw pointer copies (its API converts via UTF-8) |
//   | 5.1 number printing / doubles            |  patchable (JS modules): "%.14g", every number a double | fixed in C: 2.0 prints "2.0", 64-bit ints |
//   | determinism                              |  pure JS, no clock, PRNG replaced | same, plus GC-dependent memory figure |
//
// fengari wins on fit: the server creates the engine synchronously (createLuaEngine()), lock
// scripts are dominated by bridge crossings where fengari is faster, its number semantics can be
// made exactly Lua 5.1's (no integer wrap-around at 2^31, no "2.0"), strings are bytes, and the
// memory cap is deterministic. wasmoon would be ~7x faster for compute-heavy scripts, which locks
// do not run. See fengari_vm.ts for the patches.
//
// Per run: a fresh environment table (KEYS, ARGV, _G) whose metatable reads from a read-only base
// of libraries and refuses new globals; compiled functions are cached by SHA and get the new
// environment as their _ENV upvalue. Library tables are read-only (Redis 7), so nothing a script
// does is visible to the next one. A count hook enforces the instruction budget, allocation
// accounting the memory cap; both abort uncatchably (pcall/xpcall re-raise) and leave the engine
// usable. Writes done before an abort stay, identically on every replica, as in Redis.

/* eslint-disable @typescript-eslint/no-explicit-any */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { ErrorReply, type Reply } from '../../resp/reply';
import { allocationHooks, markReadonly, vm, type LuaState } from './fengari_vm';
import { openBit } from './lib_bit';
import { openCjson } from './lib_cjson';
import { openCmsgpack } from './lib_cmsgpack';
import { openStruct } from './lib_struct';
import { fromBytes, nameBytes, pushCommandError, pushErrorTable, pushReply, pushText, readString, toBytes, toReply } from './lua_values';
import { formatCallArgument } from './number_format';
import { Rand48 } from './rand48';
import type { ScriptEngine, ScriptHost, ScriptRunOptions } from './types';

const { lua, lauxlib, lualib } = vm;

export interface LuaEngineOptions {
  /** VM instructions one script may execute before it is stopped. */
  readonly instructionBudget?: number;
  /** Bytes one script may allocate (strings, buffers, table slots; frees are not credited). */
  readonly memoryBytesMax?: number;
  /** Compiled scripts kept; the oldest is dropped beyond this. */
  readonly compiledScriptsMax?: number;
}

export const INSTRUCTION_BUDGET_DEFAULT = 100_000_000;
export const MEMORY_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
const COMPILED_SCRIPTS_MAX_DEFAULT = 1000;
const HOOK_STEP_INSTRUCTIONS = 10_000;

export const REDIS_VERSION = '7.2.5';
export const REDIS_VERSION_NUM = 0x070205;

const LOG_LEVELS = ['debug', 'verbose', 'notice', 'warning'] as const;

/** Flags a `#!lua flags=...` first line may carry (Redis 7). */
const SHEBANG_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);

interface CompiledScript {
  readonly body: string;
  readonly ref: number;
}

/** What one run needs while Lua calls back into JS. */
interface RunState {
  host: ScriptHost;
  resp: 2 | 3;
  instructionsUsed: number;
  bytesAllocated: number;
  /** Set once the script must stop; pcall/xpcall re-raise it. */
  abortMessage: string | null;
  /** A JS exception from the host or the bridge: a programmer error, rethrown after the run. */
  hostException: unknown;
}

export class LuaEngine implements ScriptEngine {
  readonly instructionBudget: number;
  readonly memoryBytesMax: number;
  private readonly compiledScriptsMax: number;
  private readonly L: LuaState;
  private readonly compiled = new Map<string, CompiledScript>();
  private readonly rand = new Rand48();
  private envMetaRef = 0;
  private currentEnvRef = 0;
  private run_: RunState | null = null;
  private readonly hookStep: number;
  private readonly hook = (L: LuaState): void => this.onCountHook(L);
  private readonly chargeHook = (bytes: number): void => this.charge(bytes);

  constructor(options: LuaEngineOptions = {}) {
    this.instructionBudget = options.instructionBudget ?? INSTRUCTION_BUDGET_DEFAULT;
    this.memoryBytesMax = options.memoryBytesMax ?? MEMORY_BYTES_MAX_DEFAULT;
    this.compiledScriptsMax = options.compiledScriptsMax ?? COMPILED_SCRIPTS_MAX_DEFAULT;
    assert(this.instructionBudget >= 1 && this.memoryBytesMax >= 1024 && this.compiledScriptsMax >= 1);
    this.hookStep = Math.min(HOOK_STEP_INSTRUCTIONS, this.instructionBudget);
    this.L = lauxlib.luaL_newstate();
    this.buildSandbox();
    lua.lua_sethook(this.L, this.hook, lua.LUA_MASKCOUNT, this.hookStep);
  }

  check(body: string): string | null {
    const source = stripShebang(body);
    if (typeof source !== 'string') return source.error;
    const L = this.L;
    const status = lauxlib.luaL_loadbufferx(L, toBytes(source), null, nameBytes('@user_script'), nameBytes('t'));
    const message = status === lua.LUA_OK ? null : `ERR Error compiling script (new function): ${readString(L, -1) ?? 'unknown error'}`;
    lua.lua_pop(L, 1);
    return message;
  }

  run(body: string, keys: string[], args: string[], host: ScriptHost, options: ScriptRunOptions): Reply {
    assert(this.run_ === null, 'LuaEngine.run is not re-entrant');
    const L = this.L;
    const ref = this.compile(body, options.sha);
    if (typeof ref === 'string') return new ErrorReply(ref);
    const state: RunState = { host, resp: 2, instructionsUsed: 0, bytesAllocated: 0, abortMessage: null, hostException: undefined };
    this.run_ = state;
    this.rand.seed(0);
    lua.lua_settop(L, 0);
    lua.lua_sethook(L, this.hook, lua.LUA_MASKCOUNT, this.hookStep); // restarts the count
    allocationHooks.readonlyViolation = (Lv) => vm.luaG_runerror(Lv ?? L, nameBytes('Attempt to modify a readonly table'));
    try {
      lua.lua_pushcfunction(L, errorHandler);
      lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
      this.pushEnvironment(L, keys, args);
      lua.lua_pushvalue(L, -1);
      lua.lua_rawseti(L, lua.LUA_REGISTRYINDEX, this.currentEnvRef);
      assert(lua.lua_setupvalue(L, -2, 1) !== null, 'a main chunk has _ENV as upvalue 1');
      allocationHooks.charge = this.chargeHook;
      const status = lua.lua_pcall(L, 0, 1, 1);
      allocationHooks.charge = null; // converting the result is not the script's work
      if (state.hostException !== undefined) throw state.hostException;
      if (status === lua.LUA_OK) return toReply(L, -1, state.resp);
      return this.errorReply(L, status, state, options.sha);
    } finally {
      allocationHooks.charge = null;
      allocationHooks.readonlyViolation = null;
      this.run_ = null;
      lua.lua_pushboolean(L, false);
      lua.lua_rawseti(L, lua.LUA_REGISTRYINDEX, this.currentEnvRef);
      lua.lua_settop(L, 0);
    }
  }

  /** Compiled scripts currently cached (for tests and INFO). */
  get compiledCount(): number {
    return this.compiled.size;
  }

  private compile(body: string, sha: string): number | string {
    const cached = this.compiled.get(sha);
    if (cached !== undefined && cached.body === body) return cached.ref;
    const source = stripShebang(body);
    if (typeof source !== 'string') return source.error;
    const L = this.L;
    const status = lauxlib.luaL_loadbufferx(L, toBytes(source), null, nameBytes('@user_script'), nameBytes('t'));
    if (status !== lua.LUA_OK) {
      const message = `ERR Error compiling script (new function): ${readString(L, -1) ?? 'unknown error'}`;
      lua.lua_pop(L, 1);
      return message;
    }
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    if (cached !== undefined) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, cached.ref);
    this.compiled.delete(sha);
    this.compiled.set(sha, { body, ref });
    if (this.compiled.size > this.compiledScriptsMax) {
      const [oldestSha, oldest] = this.compiled.entries().next().value as [string, CompiledScript];
      lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, oldest.ref);
      this.compiled.delete(oldestSha);
    }
    return ref;
  }

  /** Pushes a new environment {KEYS=, ARGV=, _G=itself} with the shared protective metatable. */
  private pushEnvironment(L: LuaState, keys: string[], args: string[]): void {
    lua.lua_createtable(L, 0, 3);
    pushStringList(L, keys);
    lua.lua_setfield(L, -2, nameBytes('KEYS'));
    pushStringList(L, args);
    lua.lua_setfield(L, -2, nameBytes('ARGV'));
    lua.lua_pushvalue(L, -1);
    lua.lua_setfield(L, -2, nameBytes('_G'));
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.envMetaRef);
    lua.lua_setmetatable(L, -2);
  }

  private errorReply(L: LuaState, status: number, state: RunState, sha: string): ErrorReply {
    if (status === lua.LUA_ERRMEM && state.abortMessage !== null) return new ErrorReply(`${state.abortMessage} script: ${sha}.`);
    if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) {
      const text = lua.lua_type(L, -1) === lua.LUA_TSTRING ? readString(L, -1)! : 'unknown error';
      return new ErrorReply(oneLine(`ERR ${text} script: ${sha}.`));
    }
    lua.lua_getfield(L, -1, nameBytes('err'));
    const message = readString(L, -1) ?? 'ERR unknown error';
    lua.lua_pop(L, 1);
    lua.lua_getfield(L, -1, nameBytes('source'));
    const source = readString(L, -1);
    lua.lua_pop(L, 1);
    lua.lua_getfield(L, -1, nameBytes('line'));
    const line = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : null;
    lua.lua_pop(L, 1);
    if (source !== null && line !== null) return new ErrorReply(oneLine(`${message} script: ${sha}, on ${source}:${line}.`));
    return new ErrorReply(oneLine(message));
  }

  // ---------------------------------------------------------------- limits

  private onCountHook(L: LuaState): void {
    const state = this.run_;
    if (state === null) return;
    state.instructionsUsed += this.hookStep;
    if (state.instructionsUsed < this.instructionBudget && state.abortMessage === null) return;
    if (state.abortMessage === null) {
      state.abortMessage = `ERR Script exceeded the instruction budget (${this.instructionBudget} instructions); it was stopped and its writes so far were kept`;
    }
    this.raiseAbort(L, state);
  }

  private charge(bytes: number): void {
    const state = this.run_;
    // Once aborted, allocation goes on unchecked: the error objects themselves need strings, and
    // pcall/xpcall and the count hook re-raise the abort anyway.
    if (state === null || state.abortMessage !== null) return;
    state.bytesAllocated += bytes;
    if (state.bytesAllocated <= this.memoryBytesMax) return;
    if (state.abortMessage === null) {
      state.abortMessage = `ERR Script exceeded the memory limit (${this.memoryBytesMax} bytes); it was stopped and its writes so far were kept`;
    }
    vm.luaD_throw(this.L, lua.LUA_ERRMEM);
  }

  /** Raises the abort again (after a pcall caught it): an error table, or a memory error. */
  private raiseAbort(L: LuaState, state: RunState): never {
    if (state.bytesAllocated > this.memoryBytesMax) vm.luaD_throw(L, lua.LUA_ERRMEM);
    allocationHooks.charge = null; // the error table itself must not trip the memory cap
    pushErrorTable(L, `-${state.abortMessage}`);
    allocationHooks.charge = this.chargeHook;
    lua.lua_error(L);
    throw new Error('unreachable: lua_error returned');
  }

  // ---------------------------------------------------------------- sandbox

  private buildSandbox(): void {
    const L = this.L;
    for (const [name, open] of [
      ['_G', lualib.luaopen_base],
      ['table', lualib.luaopen_table],
      ['string', lualib.luaopen_string],
      ['math', lualib.luaopen_math],
    ] as const) {
      lauxlib.luaL_requiref(L, nameBytes(name), open, 1);
      lua.lua_pop(L, 1);
    }
    // A registry slot for the running script's environment (false when idle; nil would free it).
    lua.lua_pushboolean(L, false);
    this.currentEnvRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);

    const G = () => {
      lua.lua_pushglobaltable(L);
      return lua.lua_gettop(L);
    };

    // Base functions: replace the catching and loading ones, drop what reaches outside.
    let g = G();
    setFunctions(L, g, {
      pcall: (Ls) => this.luaPcall(Ls),
      xpcall: (Ls) => this.luaXpcall(Ls),
      print: () => 0,
      collectgarbage: (Ls) => {
        lua.lua_pushnumber(Ls, 0);
        return 1;
      },
      __sandbox_env: (Ls) => {
        lua.lua_rawgeti(Ls, lua.LUA_REGISTRYINDEX, this.currentEnvRef);
        return 1;
      },
    });
    for (const name of ['dofile', 'loadfile', 'require', 'module', 'rawlen']) {
      lua.lua_pushnil(L);
      lua.lua_setfield(L, g, nameBytes(name));
    }
    lua.lua_pop(L, 1);

    // Redis's extra libraries and the redis table.
    g = G();
    openBit(L);
    lua.lua_setfield(L, g, nameBytes('bit'));
    openCjson(L);
    lua.lua_setfield(L, g, nameBytes('cjson'));
    openCmsgpack(L);
    lua.lua_setfield(L, g, nameBytes('cmsgpack'));
    openStruct(L);
    lua.lua_setfield(L, g, nameBytes('struct'));
    this.pushRedisTable(L);
    lua.lua_setfield(L, g, nameBytes('redis'));
    lua.lua_pop(L, 1);

    // math.random: Redis's rand48 reseeded to 0 before every script, Lua 5.1's mapping to ranges.
    lua.lua_getglobal(L, nameBytes('math'));
    setFunctions(L, lua.lua_gettop(L), {
      random: (Ls) => this.mathRandom(Ls),
      randomseed: (Ls) => {
        this.rand.seed(Math.trunc(lauxlib.luaL_checknumber(Ls, 1)) | 0);
        return 0;
      },
    });
    lua.lua_pop(L, 1);

    // Lua 5.1 names and loaders that compile text only, into the running script's environment.
    const shims = `
      local rawload, env, type, error = load, __sandbox_env, type, error
      unpack = table.unpack
      table.getn = function(t) return #t end
      table.setn = function() error("'setn' is obsolete", 2) end
      table.maxn = function(t)
        local n = 0
        for k in pairs(t) do if type(k) == 'number' and k > n then n = k end end
        return n
      end
      table.foreach = function(t, f) for k, v in pairs(t) do local r = f(k, v) if r ~= nil then return r end end end
      table.foreachi = function(t, f) for i = 1, #t do local r = f(i, t[i]) if r ~= nil then return r end end end
      math.mod = math.fmod
      math.pow = function(x, y) return x ^ y end
      math.log10 = function(x) return math.log(x, 10) end
      math.ldexp = function(m, e) return m * 2.0 ^ e end
      math.cosh = function(x) return (math.exp(x) + math.exp(-x)) / 2 end
      math.sinh = function(x) return (math.exp(x) - math.exp(-x)) / 2 end
      math.tanh = function(x) local a, b = math.exp(x), math.exp(-x) return (a - b) / (a + b) end
      string.gfind = string.gmatch
      loadstring = function(s, name)
        if type(s) ~= 'string' then error("bad argument #1 to 'loadstring' (string expected)", 2) end
        return rawload(s, name or s, 't', env())
      end
      load = function(chunk, name)
        return rawload(chunk, name or '=(load)', 't', env())
      end
      string.dump = nil
      math.maxinteger, math.mininteger, math.tointeger, math.ult, math.type = nil, nil, nil, nil, nil
      __sandbox_env = nil
      _VERSION = 'Lua 5.1'
    `;
    if (lauxlib.luaL_loadbufferx(L, toBytes(shims), null, nameBytes('=sandbox'), nameBytes('t')) !== lua.LUA_OK || lua.lua_pcall(L, 0, 0, 0) !== lua.LUA_OK) {
      throw new Error(`sandbox setup failed: ${readString(L, -1)}`);
    }

    // The read-only base: a copy of the globals, with a metatable that refuses unknown names.
    g = G();
    lua.lua_createtable(L, 0, 64);
    const base = lua.lua_gettop(L);
    lua.lua_pushnil(L);
    while (lua.lua_next(L, g) !== 0) {
      const name = readString(L, -2);
      if (name === '_G') {
        lua.lua_pop(L, 1);
        continue;
      }
      if (lua.lua_type(L, -1) === lua.LUA_TTABLE) this.protectTable(L, lua.lua_gettop(L));
      lua.lua_pushvalue(L, -2);
      lua.lua_insert(L, -2);
      lua.lua_rawset(L, base);
    }
    lua.lua_createtable(L, 0, 2);
    lua.lua_pushcfunction(L, (Ls: LuaState) => {
      const name = lua.lua_type(Ls, 2) === lua.LUA_TSTRING ? readString(Ls, 2)! : '?';
      return raise(Ls, `Script attempted to access nonexistent global variable '${name}'`);
    });
    lua.lua_setfield(L, -2, nameBytes('__index'));
    lua.lua_pushboolean(L, false);
    lua.lua_setfield(L, -2, nameBytes('__metatable'));
    markReadonly(L, -1);
    lua.lua_setmetatable(L, base);
    markReadonly(L, base);

    // The metatable every per-run environment shares.
    lua.lua_createtable(L, 0, 3);
    lua.lua_pushvalue(L, base);
    lua.lua_setfield(L, -2, nameBytes('__index'));
    lua.lua_pushcfunction(L, (Ls: LuaState) => {
      const name = lua.lua_type(Ls, 2) === lua.LUA_TSTRING ? readString(Ls, 2)! : '?';
      return raise(Ls, `Script attempted to create global variable '${name}'`);
    });
    lua.lua_setfield(L, -2, nameBytes('__newindex'));
    lua.lua_pushboolean(L, false);
    lua.lua_setfield(L, -2, nameBytes('__metatable'));
    markReadonly(L, -1);
    this.envMetaRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);

    // Strings' metatable: read-only, and getmetatable('') returns it without letting it change.
    lua.lua_pushstring(L, nameBytes(''));
    assert(lua.lua_getmetatable(L, -1) !== 0, 'strings have a metatable');
    lua.lua_pushvalue(L, -1);
    lua.lua_setfield(L, -2, nameBytes('__metatable'));
    markReadonly(L, -1);
    lua.lua_pop(L, 2);

    // Scripts never see the real global table again.
    lua.lua_settop(L, 0);
  }

  /** Library tables: read-only, with a protected metatable so setmetatable cannot hook them. */
  private protectTable(L: LuaState, index: number): void {
    lua.lua_createtable(L, 0, 1);
    lua.lua_pushboolean(L, false);
    lua.lua_setfield(L, -2, nameBytes('__metatable'));
    markReadonly(L, -1);
    lua.lua_setmetatable(L, index);
    markReadonly(L, index);
  }

  private pushRedisTable(L: LuaState): void {
    lua.lua_createtable(L, 0, 32);
    const t = lua.lua_gettop(L);
    setFunctions(L, t, {
      call: (Ls) => this.redisCall(Ls, true),
      pcall: (Ls) => this.redisCall(Ls, false),
      error_reply: (Ls) => {
        const text = lua.lua_gettop(Ls) === 1 ? readString(Ls, 1) : null;
        if (text === null) pushErrorTable(Ls, 'wrong number or type of arguments');
        else pushErrorTable(Ls, text.startsWith('-') ? text : `-${text}`);
        return 1;
      },
      status_reply: (Ls) => {
        const text = lua.lua_gettop(Ls) === 1 ? readString(Ls, 1) : null;
        if (text === null) {
          pushErrorTable(Ls, 'wrong number or type of arguments');
          return 1;
        }
        lua.lua_createtable(Ls, 0, 1);
        pushText(Ls, text);
        lua.lua_setfield(Ls, -2, nameBytes('ok'));
        return 1;
      },
      sha1hex: (Ls) => {
        if (lua.lua_gettop(Ls) !== 1) return raise(Ls, 'wrong number of arguments');
        const bytes = lua.lua_tolstring(Ls, 1) ?? new Uint8Array(0);
        pushText(Ls, createHash('sha1').update(bytes).digest('hex'));
        return 1;
      },
      log: (Ls) => this.redisLog(Ls),
      setresp: (Ls) => {
        const state = this.run_;
        if (lua.lua_gettop(Ls) !== 1) return raise(Ls, 'redis.setresp() requires one argument.');
        const resp = lauxlib.luaL_checknumber(Ls, 1);
        if (resp !== 2 && resp !== 3) return raise(Ls, 'RESP version must be 2 or 3.');
        if (state !== null) state.resp = resp;
        return 0;
      },
      set_repl: (Ls) => {
        if (lua.lua_gettop(Ls) !== 1) return raise(Ls, 'redis.set_repl() requires one argument.');
        const flags = lauxlib.luaL_checknumber(Ls, 1);
        if (!Number.isInteger(flags) || flags < 0 || flags > 3) {
          return raise(Ls, 'Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.');
        }
        return 0;
      },
      replicate_commands: (Ls) => {
        lua.lua_pushboolean(Ls, true);
        return 1;
      },
      breakpoint: (Ls) => {
        lua.lua_pushboolean(Ls, false);
        return 1;
      },
      debug: () => 0,
    });
    const numbers: Record<string, number> = {
      REPL_NONE: 0,
      REPL_AOF: 1,
      REPL_SLAVE: 2,
      REPL_REPLICA: 2,
      REPL_ALL: 3,
      LOG_DEBUG: 0,
      LOG_VERBOSE: 1,
      LOG_NOTICE: 2,
      LOG_WARNING: 3,
      REDIS_VERSION_NUM,
    };
    for (const [name, value] of Object.entries(numbers)) {
      lua.lua_pushnumber(L, value);
      lua.lua_setfield(L, t, nameBytes(name));
    }
    pushText(L, REDIS_VERSION);
    lua.lua_setfield(L, t, nameBytes('REDIS_VERSION'));
  }

  // ---------------------------------------------------------------- functions scripts call

  private redisCall(L: LuaState, raises: boolean): number {
    const state = this.run_;
    if (state === null) return raise(L, 'redis.call is only available while a script runs');
    const argc = lua.lua_gettop(L);
    let argv: string[] | string;
    if (argc === 0) argv = 'Please specify at least one argument for this redis lib call';
    else argv = readCallArguments(L, argc);
    let reply: Reply;
    if (typeof argv === 'string') {
      pushErrorTable(L, argv);
      return raises ? lua.lua_error(L) : 1;
    }
    try {
      reply = state.host.call(argv);
    } catch (e) {
      state.hostException = e;
      return raise(L, 'internal error in the script host');
    }
    if (reply instanceof ErrorReply) {
      pushCommandError(L, reply);
      return raises ? lua.lua_error(L) : 1;
    }
    if (!lua.lua_checkstack(L, 8)) return raise(L, 'reached lua stack limit');
    pushReply(L, reply, state.resp);
    return 1;
  }

  private redisLog(L: LuaState): number {
    const argc = lua.lua_gettop(L);
    if (argc < 2) return raise(L, 'redis.log() requires two arguments or more.');
    if (lua.lua_type(L, 1) !== lua.LUA_TNUMBER) return raise(L, 'First argument must be a number');
    const level = lua.lua_tonumber(L, 1);
    if (!Number.isInteger(level) || level < 0 || level > 3) return raise(L, 'Invalid debug level.');
    const parts: string[] = [];
    for (let i = 2; i <= argc; i++) {
      const bytes = lua.lua_tolstring(L, i);
      if (bytes !== null) parts.push(fromBytes(bytes));
    }
    const state = this.run_;
    if (state !== null) {
      try {
        state.host.log(LOG_LEVELS[level], parts.join(' '));
      } catch (e) {
        state.hostException = e;
        return raise(L, 'internal error in the script host');
      }
    }
    return 0;
  }

  private luaPcall(L: LuaState): number {
    lauxlib.luaL_checkany(L, 1);
    const status = lua.lua_pcall(L, lua.lua_gettop(L) - 1, lua.LUA_MULTRET, 0);
    const state = this.run_;
    if (state !== null && state.abortMessage !== null) this.raiseAbort(L, state);
    lua.lua_pushboolean(L, status === lua.LUA_OK);
    lua.lua_insert(L, 1);
    return lua.lua_gettop(L);
  }

  private luaXpcall(L: LuaState): number {
    const argc = lua.lua_gettop(L);
    lauxlib.luaL_checktype(L, 2, lua.LUA_TFUNCTION);
    // [f, h, args...] -> [guarded h, f, args...]; the guard skips h once the script is aborted,
    // because a handler runs with hooks off and could otherwise loop forever.
    lua.lua_pushvalue(L, 2);
    lua.lua_pushcclosure(L, (Ls: LuaState) => {
      const state = this.run_;
      if (state !== null && state.abortMessage !== null) return 1;
      lua.lua_pushvalue(Ls, lua.lua_upvalueindex(1));
      lua.lua_insert(Ls, 1);
      lua.lua_call(Ls, lua.lua_gettop(Ls) - 1, 1);
      return 1;
    }, 1);
    lua.lua_replace(L, 2);
    lua.lua_pushvalue(L, 1);
    lua.lua_pushvalue(L, 2);
    lua.lua_replace(L, 1);
    lua.lua_replace(L, 2);
    const status = lua.lua_pcall(L, argc - 2, lua.LUA_MULTRET, 1);
    const state = this.run_;
    if (state !== null && state.abortMessage !== null) this.raiseAbort(L, state);
    lua.lua_pushboolean(L, status === lua.LUA_OK);
    lua.lua_replace(L, 1);
    return lua.lua_gettop(L);
  }

  private mathRandom(L: LuaState): number {
    const r = this.rand.next() / Rand48.MAX;
    switch (lua.lua_gettop(L)) {
      case 0:
        lua.lua_pushnumber(L, r);
        return 1;
      case 1: {
        const upper = Math.trunc(lauxlib.luaL_checknumber(L, 1));
        lauxlib.luaL_argcheck(L, upper >= 1, 1, nameBytes('interval is empty'));
        lua.lua_pushnumber(L, Math.floor(r * upper) + 1);
        return 1;
      }
      case 2: {
        const lower = Math.trunc(lauxlib.luaL_checknumber(L, 1));
        const upper = Math.trunc(lauxlib.luaL_checknumber(L, 2));
        lauxlib.luaL_argcheck(L, lower <= upper, 2, nameBytes('interval is empty'));
        lua.lua_pushnumber(L, Math.floor(r * (upper - lower + 1)) + lower);
        return 1;
      }
      default:
        return raise(L, 'wrong number of arguments');
    }
  }
}

/** Creates the engine the server uses (synchronous: fengari needs no async start-up). */
export function createLuaEngine(options: LuaEngineOptions = {}): LuaEngine {
  return new LuaEngine(options);
}

// ------------------------------------------------------------------ helpers

type JsLuaFunction = (L: LuaState) => number;

function setFunctions(L: LuaState, table: number, functions: Record<string, JsLuaFunction>): void {
  for (const [name, fn] of Object.entries(functions)) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, table, nameBytes(name));
  }
}

/** Raises a Lua error with a plain message (like luaL_error from C: no position for a C function). */
export function raise(L: LuaState, message: string): never {
  lauxlib.luaL_error(L, nameBytes('%s'), toBytes(message));
  throw new Error('unreachable: luaL_error returned');
}

function pushStringList(L: LuaState, items: string[]): void {
  lua.lua_createtable(L, items.length, 0);
  for (let i = 0; i < items.length; i++) {
    lua.lua_pushstring(L, toBytes(items[i]));
    lua.lua_rawseti(L, -2, i + 1);
  }
}

/** redis.call arguments: strings as they are, numbers as integers when integral; or an error text. */
function readCallArguments(L: LuaState, argc: number): string[] | string {
  const argv = new Array<string>(argc);
  for (let i = 1; i <= argc; i++) {
    const type = lua.lua_type(L, i);
    if (type === lua.LUA_TSTRING) argv[i - 1] = fromBytes(lua.lua_tolstring(L, i));
    else if (type === lua.LUA_TNUMBER) argv[i - 1] = formatCallArgument(lua.lua_tonumber(L, i));
    else return 'Lua redis lib command arguments must be strings or integers';
  }
  return argv;
}

/**
 * The message handler of every script run (Redis 7's __redis__err__handler): turns the error into
 * an {err=...} table carrying the source and line where it happened.
 */
function errorHandler(L: LuaState): number {
  const ar = new lua.lua_Debug();
  let where: { source: string; line: number } | null = null;
  if (lua.lua_getstack(L, 1, ar)) {
    lua.lua_getinfo(L, nameBytes('Sl'), ar);
    // fengari says 'J' (a JS function) where C Lua says 'C'.
    if (isNative(ar) && lua.lua_getstack(L, 2, ar)) lua.lua_getinfo(L, nameBytes('Sl'), ar);
    if (!isNative(ar) && ar.currentline > 0) where = { source: text(ar.source), line: ar.currentline };
  }
  if (lua.lua_type(L, 1) !== lua.LUA_TTABLE) {
    const message = lauxlib.luaL_tolstring(L, 1);
    lua.lua_pop(L, 1);
    pushErrorTable(L, fromBytes(message));
    lua.lua_replace(L, 1);
  }
  if (where !== null) {
    pushText(L, where.source);
    lua.lua_setfield(L, 1, nameBytes('source'));
    lua.lua_pushnumber(L, where.line);
    lua.lua_setfield(L, 1, nameBytes('line'));
  }
  lua.lua_settop(L, 1);
  return 1;
}

function isNative(ar: { what: unknown }): boolean {
  const what = text(ar.what);
  return what === 'J' || what === 'C';
}

function text(value: unknown): string {
  if (value instanceof Uint8Array) return fromBytes(value);
  return value === null || value === undefined ? '' : String(value);
}

function oneLine(message: string): string {
  return message.replace(/[\r\n]/g, ' ');
}

/**
 * Redis 7's `#!lua [flags=a,b]` first line: checked, then blanked (the newline stays, so line
 * numbers do not move). Bodies without a shebang are returned as they are.
 */
export function stripShebang(body: string): string | { error: string } {
  if (!body.startsWith('#!')) return body;
  const end = body.indexOf('\n');
  const line = end === -1 ? body : body.slice(0, end);
  const parts = line.slice(2).split(' ').filter((p) => p.length > 0);
  if (parts[0] !== 'lua') return { error: `ERR Unexpected engine in script shebang: ${parts[0] ?? ''}` };
  for (const part of parts.slice(1)) {
    if (!part.startsWith('flags=')) return { error: `ERR Unknown lua shebang option: ${part}` };
    for (const flag of part.slice(6).split(',')) {
      if (flag.length > 0 && !SHEBANG_FLAGS.has(flag)) return { error: `ERR Unexpected flag in script shebang: ${flag}` };
    }
  }
  return end === -1 ? '' : body.slice(end);
}
