// `--name value` flags for the standalone bench scripts (run.ts has its own, richer parsing).

/** The value after `--name` on the command line, or `fallback` when the flag is absent. */
export function flag(name: string, fallback: string): string;
export function flag(name: string, fallback?: string): string | undefined;
export function flag(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
