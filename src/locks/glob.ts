// Redis's glob matcher (stringmatchlen): * ? [abc] [^a] [a-z] and \ escapes, for KEYS and SCAN MATCH.
//
// A copy of the server's matcher rather than an import: src/locks stays free of src/server.
// Iterative, backtracking on the last star only, so `*a*a*a*b` stays linear-ish.

export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = -1;
  while (s < text.length) {
    if (p < pattern.length) {
      const pc = pattern[p];
      if (pc === '*') {
        while (p < pattern.length && pattern[p] === '*') p++;
        if (p === pattern.length) return true;
        starP = p;
        starS = s;
        continue;
      }
      if (pc === '?') {
        p++;
        s++;
        continue;
      }
      if (pc === '[') {
        const next = matchClass(pattern, p, text[s]);
        if (next !== -1) {
          p = next;
          s++;
          continue;
        }
      } else {
        let literal = pc;
        let width = 1;
        if (pc === '\\' && p + 1 < pattern.length) {
          literal = pattern[p + 1];
          width = 2;
        }
        if (literal === text[s]) {
          p += width;
          s++;
          continue;
        }
      }
    }
    if (starP === -1) return false;
    p = starP;
    s = ++starS;
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Matches one char against the class starting at `start` ('['); returns the index after it, or -1. */
function matchClass(pattern: string, start: number, ch: string): number {
  let p = start + 1;
  let negate = false;
  if (pattern[p] === '^') {
    negate = true;
    p++;
  }
  let matched = false;
  while (p < pattern.length && pattern[p] !== ']') {
    if (pattern[p] === '\\' && p + 1 < pattern.length) {
      if (pattern[p + 1] === ch) matched = true;
      p += 2;
    } else if (p + 2 < pattern.length && pattern[p + 1] === '-' && pattern[p + 2] !== ']') {
      let lo = pattern[p];
      let hi = pattern[p + 2];
      if (lo > hi) [lo, hi] = [hi, lo];
      if (ch >= lo && ch <= hi) matched = true;
      p += 3;
    } else {
      if (pattern[p] === ch) matched = true;
      p++;
    }
  }
  // An unterminated class ends the pattern, like Redis.
  const next = p < pattern.length ? p + 1 : p;
  return (negate ? !matched : matched) ? next : -1;
}
