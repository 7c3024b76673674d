// Assertions that stay on in production: a broken invariant in the state machine must stop the
// replica rather than let it diverge from the others.

import * as nodeAssert from 'node:assert';

export function assert(condition: unknown, message: string): asserts condition {
  nodeAssert.ok(condition, message);
}
