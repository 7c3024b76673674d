#!/usr/bin/env node
// Thin shim: the CLI lives in src/cli, compiled to dist/ by `npm install` (the prepare script).
'use strict';
// msgpackr's native string extraction decodes every string of a message as a slice of one long
// string, and a slice keeps its whole parent alive: a held lock's owner then pinned ~85 bytes more
// than it needs (bench/heap_profile.ts). Its JS decoder makes flat strings and measured as fast
// on our messages (a log command, a 300-entry append). Must be set before msgpackr is loaded.
process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= 'true';
require('../dist/src/cli/main.js').main(process.argv.slice(2));
