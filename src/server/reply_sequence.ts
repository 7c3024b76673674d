// Several top-level replies from one command (SUBSCRIBE a b c answers once per channel).
//
// Only the server layer produces these; the client writes the items one after another in the
// command's slot, so they keep their place among pipelined replies.

import type { Reply } from '../resp/reply';

export class ReplySequence {
  constructor(readonly items: Reply[]) {}
}
