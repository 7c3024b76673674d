// Test harness for the state machine: applies commands with increasing log indexes and explicit
// entry times, records published messages, and offers a tiny stub script engine.

import { StateMachine, type StateMachineLimits } from '../../src/locks/state_machine';
import type { ScriptEngine, ScriptHost, ScriptRunOptions } from '../../src/locks/scripting/types';
import type { Reply } from '../../src/resp/reply';
import type { Test } from 'tap';

export const T0 = 1_700_000_000_000;

export class Harness {
  readonly sm: StateMachine;
  index = 0;
  nowMs = T0;
  db = 0;
  readonly published: Array<[string, string]> = [];

  constructor(options: { engine?: ScriptEngine | null; limits?: Partial<StateMachineLimits>; databases?: number } = {}) {
    this.sm = new StateMachine({
      databases: options.databases,
      scriptEngine: options.engine === undefined ? stubEngine() : options.engine,
      events: {
        publish: (channel, message) => {
          this.published.push([channel, message]);
          return 1;
        },
        log: () => {},
      },
      limits: options.limits,
    });
  }

  /** Applies a command as the next log entry, at the harness's current time. */
  run(...argv: Array<string | number>): Reply {
    return this.sm.apply({ kind: 'cmd', db: this.db, argv: argv.map(String), timeMs: this.nowMs }, ++this.index);
  }

  /** Serves a read (readonly command) at the harness's current time. */
  read(...argv: Array<string | number>): Reply {
    return this.sm.read(this.db, argv.map(String), this.nowMs);
  }

  leader(extendMs: number): Reply {
    return this.sm.apply({ kind: 'leader', leaderId: 'n1', extendMs, timeMs: this.nowMs }, ++this.index);
  }

  expire(keys: string[], db = this.db): Reply {
    return this.sm.apply({ kind: 'expire', db, keys, timeMs: this.nowMs }, ++this.index);
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/**
 * A stand-in for the Lua engine: a script body is a list of commands, one per line, words split
 * on spaces; `$K1`/`$A1` are replaced by KEYS[1]/ARGV[1]. The reply is the last command's reply,
 * and an error stops the script (like redis.call). `return <word>` replies a bulk string.
 * A body containing `syntax error` fails to compile.
 */
export function stubEngine(): ScriptEngine & { runs: number } {
  const engine = {
    runs: 0,
    check(body: string): string | null {
      return body.includes('syntax error') ? 'ERR Error compiling script (new function): user_script:1: syntax error' : null;
    },
    run(body: string, keys: string[], args: string[], host: ScriptHost, _options: ScriptRunOptions): Reply {
      engine.runs++;
      let last: Reply = null;
      for (const line of body.split('\n')) {
        const words = line.trim().split(/ +/).filter((w) => w.length > 0).map((w) => w.replace(/^\$K(\d+)$/, (_, n) => keys[Number(n) - 1]).replace(/^\$A(\d+)$/, (_, n) => args[Number(n) - 1]));
        if (words.length === 0) continue;
        if (words[0] === 'return') return words[1] ?? null;
        last = host.call(words);
        if (last !== null && typeof last === 'object' && 'message' in last && 'code' in last) return last;
      }
      return last;
    },
  };
  return engine;
}

export type Argv = Array<string | number>;

/** One table row: setup commands, then (after `advanceMs`) the command and its expected reply, then follow-up checks. */
export interface Row {
  readonly name: string;
  readonly setup?: Argv[];
  readonly advanceMs?: number;
  readonly cmd: Argv;
  readonly want: Reply;
  /** Follow-up commands and their expected replies (the side effects, or their absence). */
  readonly then?: Array<[Argv, Reply]>;
  /** Serve `cmd` through read() instead of apply(). */
  readonly read?: boolean;
}

export function runTable(t: Test, rows: Row[]): void {
  for (const row of rows) {
    t.test(row.name, (t) => {
      const h = new Harness();
      for (const argv of row.setup ?? []) h.run(...argv);
      h.advance(row.advanceMs ?? 0);
      t.strictSame(row.read ? h.read(...row.cmd) : h.run(...row.cmd), row.want, row.cmd.join(' '));
      for (const [argv, want] of row.then ?? []) t.strictSame(h.run(...argv), want, argv.join(' '));
      t.end();
    });
  }
}
