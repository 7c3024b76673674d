// The contract between the state machine and the Lua engine.
//
// A script runs inside apply() on every replica (or on the read path for EVAL_RO), so it must be
// deterministic: no clock, no randomness, no host access. Every redis.call goes back to the state
// machine through ScriptHost.call, which checks the command (unknown, arity, noscript, write in a
// read-only script) and runs it against the keyspace with the entry's time and index.

import type { Reply } from '../../resp/reply';

export interface ScriptHost {
  /**
   * Runs one command for redis.call / redis.pcall. Returns the command's Reply; a failed command
   * returns an ErrorReply (the engine raises it for call, returns it as {err=...} for pcall).
   * argv[0] is the command name as the script wrote it.
   */
  call(argv: string[]): Reply;
  /** redis.log */
  log(level: 'debug' | 'verbose' | 'notice' | 'warning', message: string): void;
}

export interface ScriptRunOptions {
  /** EVAL_RO / EVALSHA_RO: writes are refused inside the script. */
  readonly readOnly: boolean;
  /** Lowercase hex SHA1 of the body, used in error messages (`script: <sha>, on @user_script:N.`). */
  readonly sha: string;
}

export interface ScriptEngine {
  /** Compiles without running; returns an error text in Redis's shape (`ERR Error compiling script ...`) or null. */
  check(body: string): string | null;
  /** Runs a script and converts its result to a Reply exactly as Redis does. Never throws for script errors. */
  run(body: string, keys: string[], args: string[], host: ScriptHost, options: ScriptRunOptions): Reply;
}
