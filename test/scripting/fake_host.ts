// A tiny in-memory ScriptHost for the engine tests: the handful of commands the lock scripts call,
// with Redis's replies (SET -> +OK or null, GET on a zset -> WRONGTYPE, PTTL -2/-1/ms...), a clock
// the test sets, multiple databases for SELECT, and a record of every call, publish and log line.

import { ErrorReply, Errors, OK, SimpleString, type Reply } from '../../src/resp/reply';
import type { ScriptHost } from '../../src/locks/scripting/types';

type Value = { kind: 'string'; data: string } | { kind: 'zset'; data: Map<string, number> } | { kind: 'set'; data: Set<string> };

interface Entry {
  value: Value;
  expiresAtMs: number | null;
}

export class FakeHost implements ScriptHost {
  nowMs = 1_700_000_000_000;
  db = 0;
  readonly dbs: Array<Map<string, Entry>> = Array.from({ length: 16 }, () => new Map());
  readonly calls: string[][] = [];
  readonly published: Array<[string, string]> = [];
  readonly logs: Array<[string, string]> = [];
  /** Replies to return for a command name instead of running it (for conversion tests). */
  readonly canned = new Map<string, Reply>();

  call(argv: string[]): Reply {
    this.calls.push(argv);
    const name = argv[0].toLowerCase();
    const canned = this.canned.get(name);
    if (canned !== undefined) return canned;
    switch (name) {
      case 'get': {
        const entry = this.live(argv[1]);
        if (entry === undefined) return null;
        return entry.value.kind === 'string' ? entry.value.data : Errors.wrongType;
      }
      case 'set':
        return this.set(argv);
      case 'del': {
        let n = 0;
        for (const key of argv.slice(1)) if (this.live(key) !== undefined && this.keyspace().delete(key)) n++;
        return n;
      }
      case 'exists':
        return argv.slice(1).filter((key) => this.live(key) !== undefined).length;
      case 'pexpire': {
        const entry = this.live(argv[1]);
        if (entry === undefined) return 0;
        entry.expiresAtMs = this.nowMs + Number(argv[2]);
        return 1;
      }
      case 'pttl': {
        const entry = this.live(argv[1]);
        if (entry === undefined) return -2;
        return entry.expiresAtMs === null ? -1 : entry.expiresAtMs - this.nowMs;
      }
      case 'incr': {
        const entry = this.live(argv[1]);
        const next = (entry === undefined ? 0 : Number((entry.value as { data: string }).data)) + 1;
        this.keyspace().set(argv[1], { value: { kind: 'string', data: String(next) }, expiresAtMs: entry?.expiresAtMs ?? null });
        return next;
      }
      case 'sadd': {
        const entry = this.live(argv[1]) ?? { value: { kind: 'set', data: new Set<string>() }, expiresAtMs: null };
        if (entry.value.kind !== 'set') return Errors.wrongType;
        this.keyspace().set(argv[1], entry);
        let added = 0;
        for (const m of argv.slice(2)) if (!entry.value.data.has(m)) (entry.value.data.add(m), added++);
        return added;
      }
      case 'zadd': {
        const entry = this.live(argv[1]) ?? { value: { kind: 'zset', data: new Map<string, number>() }, expiresAtMs: null };
        if (entry.value.kind !== 'zset') return Errors.wrongType;
        this.keyspace().set(argv[1], entry);
        let added = 0;
        for (let i = 2; i + 1 < argv.length; i += 2) {
          const score = Number(argv[i]);
          if (Number.isNaN(score)) return Errors.notFloat;
          if (!entry.value.data.has(argv[i + 1])) added++;
          entry.value.data.set(argv[i + 1], score);
        }
        return added;
      }
      case 'zrem': {
        const zset = this.zset(argv[1]);
        if (zset instanceof ErrorReply) return zset;
        let removed = 0;
        for (const m of argv.slice(2)) if (zset?.delete(m)) removed++;
        return removed;
      }
      case 'zcard': {
        const zset = this.zset(argv[1]);
        return zset instanceof ErrorReply ? zset : (zset?.size ?? 0);
      }
      case 'zscore': {
        const zset = this.zset(argv[1]);
        if (zset instanceof ErrorReply) return zset;
        const score = zset?.get(argv[2]);
        return score === undefined ? null : String(score);
      }
      case 'zremrangebyscore': {
        const zset = this.zset(argv[1]);
        if (zset instanceof ErrorReply) return zset;
        const min = argv[2] === '-inf' ? -Infinity : Number(argv[2]);
        const max = argv[3] === '+inf' ? Infinity : Number(argv[3]);
        let removed = 0;
        for (const [m, s] of zset ?? []) if (s >= min && s <= max) (zset!.delete(m), removed++);
        return removed;
      }
      case 'zrange': {
        const zset = this.zset(argv[1]);
        if (zset instanceof ErrorReply) return zset;
        return [...(zset ?? [])].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([m]) => m);
      }
      case 'publish':
        this.published.push([argv[1], argv[2]]);
        return 0;
      case 'select': {
        const db = Number(argv[1]);
        if (!Number.isInteger(db)) return Errors.notInteger;
        if (db < 0 || db >= this.dbs.length) return Errors.dbIndexOutOfRange;
        this.db = db;
        return OK;
      }
      case 'ping':
        return new SimpleString('PONG');
      case 'echo':
        return argv[1];
      default:
        return new ErrorReply('ERR Unknown Redis command called from script');
    }
  }

  log(level: 'debug' | 'verbose' | 'notice' | 'warning', message: string): void {
    this.logs.push([level, message]);
  }

  keyspace(db = this.db): Map<string, Entry> {
    return this.dbs[db];
  }

  /** The string at `key` (test helper), or undefined. */
  getString(key: string, db = this.db): string | undefined {
    const entry = this.live(key, db);
    return entry?.value.kind === 'string' ? entry.value.data : undefined;
  }

  zsetMembers(key: string): string[] {
    const zset = this.zset(key);
    return zset instanceof ErrorReply || zset === undefined ? [] : [...zset.keys()];
  }

  private live(key: string, db = this.db): Entry | undefined {
    const entry = this.dbs[db].get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs !== null && entry.expiresAtMs <= this.nowMs) {
      this.dbs[db].delete(key);
      return undefined;
    }
    return entry;
  }

  private zset(key: string): Map<string, number> | undefined | ErrorReply {
    const entry = this.live(key);
    if (entry === undefined) return undefined;
    return entry.value.kind === 'zset' ? entry.value.data : Errors.wrongType;
  }

  private set(argv: string[]): Reply {
    const [, key, value] = argv;
    let nx = false;
    let xx = false;
    let ttlMs: number | null = null;
    for (let i = 3; i < argv.length; i++) {
      const option = argv[i].toUpperCase();
      if (option === 'NX') nx = true;
      else if (option === 'XX') xx = true;
      else if (option === 'PX' || option === 'EX') {
        const n = Number(argv[++i]);
        if (!Number.isInteger(n)) return Errors.notInteger;
        if (n <= 0) return Errors.invalidExpire('set');
        ttlMs = option === 'PX' ? n : n * 1000;
      } else return Errors.syntax;
    }
    const exists = this.live(key) !== undefined;
    if ((nx && exists) || (xx && !exists)) return null;
    this.keyspace().set(key, { value: { kind: 'string', data: value }, expiresAtMs: ttlMs === null ? null : this.nowMs + ttlMs });
    return OK;
  }
}
