// Scripting commands: EVAL, EVALSHA, their _RO forms, SCRIPT LOAD/EXISTS/FLUSH/KILL; and the
// ScriptHost that runs a script's redis.call against the keyspace.
//
// The script cache is replicated state (EVALSHA must find a script on whichever node becomes
// leader), so SCRIPT LOAD and EVAL are writes. The Lua engine is injected; every command a script
// calls goes through the same handlers with the entry's index and time, so it is deterministic.

import { createHash } from 'node:crypto';
import { err, ErrorReply, Errors, OK, PONG, type Reply } from '../../resp/reply';
import { arityOk, type CommandDef } from '../command_spec';
import type { Keyspace } from '../keyspace';
import { parseInt64 } from '../parse';
import type { ScriptHost } from '../scripting/types';
import type { ExecContext } from '../types';
import { dataCommand, type DataHandler } from './define';
import { runHandler } from './run';

/** SHA1 hex of the exact bytes of a binary string (pure computation, no I/O). */
export function scriptSha(body: string): string {
  return createHash('sha1').update(body, 'latin1').digest('hex');
}

const noEngine = err('ERR scripting is not available on this server');
const cacheFull = err('ERR script cache is full; use SCRIPT FLUSH');

const scriptLoad: DataHandler = (state, argv) => {
  const engine = state.env.engine;
  if (engine === null) return noEngine;
  const body = argv[2];
  const sha = scriptSha(body);
  if (state.scripts.get(sha) === undefined) {
    const compileError = engine.check(body);
    if (compileError !== null) return new ErrorReply(compileError);
  }
  if (!state.scripts.add(sha, body, false)) return cacheFull;
  return sha;
};

const scriptExists: DataHandler = (state, argv) => {
  const out: Reply[] = [];
  for (let i = 2; i < argv.length; i++) out.push(state.scripts.get(argv[i].toLowerCase()) !== undefined ? 1 : 0);
  return out;
};

const scriptFlush: DataHandler = (state, argv) => {
  if (argv.length > 3) return Errors.wrongArity('script|flush');
  if (argv.length === 3) {
    const mode = argv[2].toLowerCase();
    if (mode !== 'sync' && mode !== 'async') return err('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
  }
  state.scripts.flush();
  return OK;
};

const scriptKill: DataHandler = () => err('NOTBUSY No scripts in execution right now.');

/** Splits `numkeys key... arg...` with Redis's checks. */
function splitKeys(argv: string[]): { keys: string[]; args: string[] } | ErrorReply {
  const numkeys = parseInt64(argv[2]);
  if (numkeys === null) return Errors.notInteger;
  if (numkeys > argv.length - 3) return err("ERR Number of keys can't be greater than number of args");
  if (numkeys < 0) return err("ERR Number of keys can't be negative");
  const n = Number(numkeys);
  return { keys: argv.slice(3, 3 + n), args: argv.slice(3 + n) };
}

function runScript(state: Keyspace, ctx: ExecContext, body: string, sha: string, split: { keys: string[]; args: string[] }, readOnly: boolean): Reply {
  const host = new ScriptCallHost(state, ctx, readOnly);
  return state.env.engine!.run(body, split.keys, split.args, host, { readOnly, sha });
}

function evalGeneric(readOnly: boolean): DataHandler {
  return (state, argv, ctx) => {
    const split = splitKeys(argv);
    if (!('keys' in split)) return split;
    const engine = state.env.engine;
    if (engine === null) return noEngine;
    const body = argv[1];
    const sha = scriptSha(body);
    if (state.scripts.get(sha) === undefined) {
      const compileError = engine.check(body);
      if (compileError !== null) return new ErrorReply(compileError);
      // Cached only on the write path: a read must not change state. A full cache of SCRIPT
      // LOAD scripts leaves the script uncached, which EVAL does not need.
      if (!ctx.readOnly && !readOnly) state.scripts.add(sha, body, true);
    } else if (!ctx.readOnly) state.scripts.touch(sha);
    return runScript(state, ctx, body, sha, split, readOnly);
  };
}

function evalShaGeneric(readOnly: boolean): DataHandler {
  return (state, argv, ctx) => {
    const split = splitKeys(argv);
    if (!('keys' in split)) return split;
    const sha = argv[1].toLowerCase();
    const record = sha.length === 40 ? state.scripts.get(sha) : undefined;
    if (record === undefined) return Errors.noScript;
    if (state.env.engine === null) return noEngine;
    if (!ctx.readOnly) state.scripts.touch(sha);
    return runScript(state, ctx, record.body, sha, split, readOnly);
  };
}

const SCRIPT_FORBIDDEN = err('ERR This Redis command is not allowed from script');
const SCRIPT_UNKNOWN = err('ERR Unknown Redis command called from script');
const SCRIPT_ARITY = err('ERR Wrong number of args calling Redis command from script');
const SCRIPT_WRITE_RO = err('ERR Write commands are not allowed from read-only scripts');

/**
 * redis.call / redis.pcall: the same checks as Redis's scriptCall (unknown, arity, noscript,
 * write in a read-only script), in that order, then the command's handler. SELECT changes the
 * database for the rest of this script only (Redis 7 semantics).
 */
export class ScriptCallHost implements ScriptHost {
  private readonly ctx: ExecContext;

  constructor(
    private readonly state: Keyspace,
    parent: ExecContext,
    private readonly readOnlyScript: boolean,
  ) {
    this.ctx = { index: parent.index, nowMs: parent.nowMs, db: parent.db, readOnly: parent.readOnly, fromScript: true };
  }

  call(argv: string[]): Reply {
    if (argv.length === 0) return err('ERR Please specify at least one argument for this redis lib call');
    const name = argv[0].toLowerCase();
    const builtin = this.scriptOnly(name, argv);
    if (builtin !== undefined) return builtin;
    let def = this.state.env.commands.get(name);
    if (def === undefined) return SCRIPT_UNKNOWN;
    if (def.subcommands !== undefined && def.subcommands.length > 0) {
      if (def.flags.includes('noscript')) return SCRIPT_FORBIDDEN;
      const sub = argv.length > 1 ? def.subcommands.find((s) => s.name === `${name}|${argv[1].toLowerCase()}`) : undefined;
      if (sub === undefined) return SCRIPT_UNKNOWN;
      def = sub;
    }
    if (!arityOk(def, argv.length)) return SCRIPT_ARITY;
    if (def.flags.includes('noscript')) return SCRIPT_FORBIDDEN;
    const writes = def.flags.includes('write');
    if (writes && this.readOnlyScript) return SCRIPT_WRITE_RO;
    if (writes && this.ctx.readOnly) return SCRIPT_WRITE_RO;
    return runHandler(def, this.state, argv, this.ctx);
  }

  log(level: 'debug' | 'verbose' | 'notice' | 'warning', message: string): void {
    this.state.env.events.log(level, message);
  }

  /** Commands that are not data commands but that scripts may call; undefined for the others. */
  private scriptOnly(name: string, argv: string[]): Reply | undefined {
    switch (name) {
      case 'select': {
        if (argv.length !== 2) return SCRIPT_ARITY;
        const db = parseInt64(argv[1]);
        if (db === null) return Errors.notInteger;
        if (db < 0 || db >= this.state.dbs.length) return Errors.dbIndexOutOfRange;
        this.ctx.db = Number(db);
        return OK;
      }
      case 'time': {
        if (argv.length !== 1) return SCRIPT_ARITY;
        const wallMs = this.ctx.nowMs + this.state.offsetMs;
        return [String(Math.floor(wallMs / 1000)), String((wallMs % 1000) * 1000)];
      }
      case 'ping':
        if (argv.length > 2) return SCRIPT_ARITY;
        return argv.length === 2 ? argv[1] : PONG;
      case 'echo':
        if (argv.length !== 2) return SCRIPT_ARITY;
        return argv[1];
      default:
        return undefined;
    }
  }
}

const NS = ['noscript'] as const;

export const scriptingCommands: ReadonlyArray<CommandDef<DataHandler>> = [
  dataCommand('eval', -3, ['write', 'noscript'], 'scripting', 'Executes a server-side Lua script.', evalGeneric(false)),
  dataCommand('evalsha', -3, ['write', 'noscript'], 'scripting', 'Executes a server-side Lua script by SHA1 digest.', evalShaGeneric(false)),
  dataCommand('eval_ro', -3, ['readonly', 'noscript'], 'scripting', 'Executes a read-only server-side Lua script.', evalGeneric(true)),
  dataCommand('evalsha_ro', -3, ['readonly', 'noscript'], 'scripting', 'Executes a read-only server-side Lua script by SHA1 digest.', evalShaGeneric(true)),
  dataCommand('script', -2, NS, 'scripting', 'A container for Lua scripts management commands.', () => Errors.syntax, {
    subcommands: [
      dataCommand('script|load', 3, ['write', 'noscript'], 'scripting', 'Loads a server-side Lua script to the script cache.', scriptLoad),
      dataCommand('script|exists', -3, ['readonly', 'noscript'], 'scripting', 'Determines whether server-side Lua scripts exist in the script cache.', scriptExists),
      dataCommand('script|flush', -2, ['write', 'noscript'], 'scripting', 'Removes all server-side Lua scripts from the script cache.', scriptFlush),
      dataCommand('script|kill', 2, ['readonly', 'noscript'], 'scripting', 'Terminates a server-side Lua script during execution.', scriptKill),
    ],
  }),
];
