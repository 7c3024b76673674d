// Side-by-side figures for choosing the Lua VM: wasmoon (Lua 5.4 in WebAssembly) vs fengari (Lua 5.3 in JS).
//
// Each VM runs redlock 4.2.0's lock script (1 key) and redis-semaphore's acquire script against the same
// tiny in-memory host, with a minimal bridge (KEYS/ARGV tables, redis.call returning integers, bulk
// strings, status tables). Prints runs/s and startup time. Run: npx tsc -p . && node dist/bench/lua_vm_compare.js

/* eslint-disable @typescript-eslint/no-explicit-any */
// wasmoon is not a dependency (it lost); install it for a re-run: npm install --no-save wasmoon
const fengari: any = require('fengari');
function loadWasmoon(): any {
  try {
    return require('wasmoon');
  } catch {
    return null;
  }
}

const REDLOCK_LOCK =
  '\n\t-- Return 0 if an entry already exists.\n\tfor i, key in ipairs(KEYS) do\n\t\tif redis.call("exists", key) == 1 then\n\t\t\treturn 0\n\t\tend\n\tend\n\n\t-- Create an entry for each provided key.\n\tfor i, key in ipairs(KEYS) do\n\t\tredis.call("set", key, ARGV[1], "PX", ARGV[2])\n\tend\n\n\t-- Return the number of entries added.\n\treturn #KEYS\n';
const SEMAPHORE_ACQUIRE = `
  local key = KEYS[1]
  local limit = tonumber(ARGV[1])
  local identifier = ARGV[2]
  local lockTimeout = tonumber(ARGV[3])
  local now = tonumber(ARGV[4])
  local expiredTimestamp = now - lockTimeout

  redis.call('zremrangebyscore', key, '-inf', expiredTimestamp)

  if redis.call('zcard', key) < limit then
    redis.call('zadd', key, now, identifier)
    redis.call('pexpire', key, lockTimeout)
    return 1
  else
    return 0
  end`;

type HostReply = number | string | null | { ok: string };
function fakeHost(): (argv: string[]) => HostReply {
  const kv = new Map<string, string>();
  return (argv) => {
    switch (argv[0].toLowerCase()) {
      case 'exists': return kv.has(argv[1]) ? 1 : 0;
      case 'set': kv.delete(argv[1]); return { ok: 'OK' }; // delete so the lock script succeeds every run
      case 'zremrangebyscore': return 0;
      case 'zcard': return 0;
      case 'zadd': return 1;
      case 'pexpire': return 1;
      default: return null;
    }
  };
}

function timeRuns(label: string, runOnce: () => unknown, seconds = 2): number {
  for (let i = 0; i < 2000; i++) runOnce();
  const start = process.hrtime.bigint();
  let runs = 0;
  const deadline = start + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 500; i++) runOnce();
    runs += 500;
  }
  const rate = runs / (Number(process.hrtime.bigint() - start) / 1e9);
  console.log(`${label.padEnd(48)} ${Math.round(rate).toString().padStart(9)} runs/s`);
  return rate;
}

// ---- fengari: raw C-style API, scripts cached as compiled functions ----
function fengariBench(): void {
  const { lua, lauxlib, lualib } = fengari;
  const t0 = process.hrtime.bigint();
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  const startupMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const host = fakeHost();
  const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const str = (u: Uint8Array) => String.fromCharCode.apply(null, u as any);
  lua.lua_newtable(L);
  lua.lua_pushcfunction(L, (Ls: any) => {
    const n = lua.lua_gettop(Ls);
    const argv: string[] = [];
    for (let i = 1; i <= n; i++) argv.push(str(lua.lua_tolstring(Ls, i)));
    const r = host(argv);
    if (r === null) lua.lua_pushboolean(Ls, false);
    else if (typeof r === 'number') lua.lua_pushinteger(Ls, r);
    else if (typeof r === 'string') lua.lua_pushstring(Ls, bytes(r));
    else { lua.lua_createtable(Ls, 0, 1); lua.lua_pushstring(Ls, bytes(r.ok)); lua.lua_setfield(Ls, -2, bytes('ok')); }
    return 1;
  });
  lua.lua_setfield(L, -2, bytes('call'));
  lua.lua_setglobal(L, bytes('redis'));
  const cache = new Map<string, number>();
  const run = (body: string, keys: string[], args: string[]) => {
    let ref = cache.get(body);
    if (ref === undefined) {
      if (lauxlib.luaL_loadbuffer(L, bytes(body), null, bytes('@user_script')) !== 0) throw new Error(str(lua.lua_tolstring(L, -1)));
      ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
      cache.set(body, ref!);
    }
    for (const [name, list] of [['KEYS', keys], ['ARGV', args]] as const) {
      lua.lua_createtable(L, list.length, 0);
      for (let i = 0; i < list.length; i++) { lua.lua_pushstring(L, bytes(list[i])); lua.lua_rawseti(L, -2, i + 1); }
      lua.lua_setglobal(L, bytes(name));
    }
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
    if (lua.lua_pcall(L, 0, 1, 0) !== 0) throw new Error(str(lua.lua_tolstring(L, -1)));
    const out = lua.lua_tointeger(L, -1);
    lua.lua_pop(L, 1);
    return out;
  };
  console.log(`fengari ${require('fengari/package.json').version} (Lua 5.3, JS): new state + openlibs ${startupMs.toFixed(2)} ms`);
  if (run(REDLOCK_LOCK, ['k1'], ['v', '1000']) !== 1) throw new Error('fengari lock script failed');
  timeRuns('fengari  redlock 4.2.0 lock (1 key)', () => run(REDLOCK_LOCK, ['k1'], ['0123456789abcdef0123456789abcdef', '10000']));
  timeRuns('fengari  redis-semaphore acquire', () => run(SEMAPHORE_ACQUIRE, ['sem'], ['3', 'id-1', '10000', '1700000000000']));
}

// ---- wasmoon: its high-level API (JS function in a global, automatic conversions) ----
async function wasmoonBench(): Promise<void> {
  const wasmoon = loadWasmoon();
  if (wasmoon === null) {
    console.log('wasmoon not installed: npm install --no-save wasmoon');
    return;
  }
  const t0 = process.hrtime.bigint();
  const factory = new wasmoon.LuaFactory();
  const engine = await factory.createEngine({ injectObjects: false, enableProxy: false, traceAllocations: true });
  const startupMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const host = fakeHost();
  engine.global.set('__redis_call', (...argv: any[]) => {
    const r = host(argv.map(String));
    return r === null ? false : r;
  });
  engine.doStringSync('redis = { call = __redis_call }');
  const cache = new Map<string, any>();
  const run = (body: string, keys: string[], args: string[]) => {
    let fn = cache.get(body);
    if (fn === undefined) {
      fn = engine.doStringSync(`return function() ${body}\nend`);
      cache.set(body, fn);
    }
    engine.global.set('KEYS', keys);
    engine.global.set('ARGV', args);
    return fn();
  };
  console.log(`wasmoon ${require('wasmoon/package.json').version} (Lua 5.4, wasm): factory + engine ${startupMs.toFixed(2)} ms (async only)`);
  if (run(REDLOCK_LOCK, ['k1'], ['v', '1000']) !== 1) throw new Error('wasmoon lock script failed');
  timeRuns('wasmoon  redlock 4.2.0 lock (1 key)', () => run(REDLOCK_LOCK, ['k1'], ['0123456789abcdef0123456789abcdef', '10000']));
  timeRuns('wasmoon  redis-semaphore acquire', () => run(SEMAPHORE_ACQUIRE, ['sem'], ['3', 'id-1', '10000', '1700000000000']));
  // Pure VM speed, no bridge crossings: a tight arithmetic loop.
  const loop: () => unknown = engine.doStringSync('return function() local s = 0 for i = 1, 10000000 do s = s + i % 7 end return s end');
  const t = process.hrtime.bigint();
  loop();
  console.log(`wasmoon  10M-iteration arithmetic loop                ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
}

function fengariLoop(): void {
  const { lua, lauxlib, lualib, to_luastring } = fengari;
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  lauxlib.luaL_loadstring(L, to_luastring('local s = 0 for i = 1, 10000000 do s = s + i % 7 end return s'));
  const t = process.hrtime.bigint();
  lua.lua_call(L, 0, 1);
  console.log(`fengari  10M-iteration arithmetic loop                ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
}

async function main(): Promise<void> {
  fengariBench();
  fengariLoop();
  await wasmoonBench();
}
void main();
