// Proves the scripting commands and the script host behave like Redis 7: SCRIPT LOAD replies the
// SHA1 of the exact bytes and compile-checks, SCRIPT EXISTS is case-insensitive, EVALSHA of an
// unknown or malformed SHA is exactly NOSCRIPT, EVAL caches its body, numkeys errors, SCRIPT FLUSH
// options, redis.call checks (unknown, arity, noscript, writes in EVAL_RO) with Redis's texts,
// SELECT/TIME inside a script, PUBLISH from a script, and the bounded cache evicting EVAL scripts
// oldest-first. A stub engine (test/locks/harness.ts) stands in for Lua: one command per line.

import t from 'tap';
import { createHash } from 'node:crypto';
import { err, Errors, OK } from '../../src/resp/reply';
import { Harness, T0 } from './harness';

const sha1 = (s: string): string => createHash('sha1').update(s, 'latin1').digest('hex');

t.test('SCRIPT LOAD / EXISTS / EVALSHA / FLUSH', (t) => {
  const h = new Harness();
  t.equal(h.run('SCRIPT', 'LOAD', 'return 1'), 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', 'SHA1 of the exact bytes, lowercase');
  const body = 'SET $K1 $A1\nGET $K1';
  const sha = h.run('SCRIPT', 'load', body) as string;
  t.equal(sha, sha1(body));
  t.strictSame(h.read('SCRIPT', 'EXISTS', sha.toUpperCase(), 'ffffffffffffffffffffffffffffffffffffffff'), [1, 0]);
  t.equal(h.run('EVALSHA', sha.toUpperCase(), 1, 'k', 'v1'), 'v1', 'EVALSHA is case-insensitive');
  t.strictSame(h.run('EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', 0), Errors.noScript);
  t.strictSame(h.run('EVALSHA', 'abc', 0), Errors.noScript);
  t.strictSame(h.run('SCRIPT', 'LOAD', 'a syntax error here'), err('ERR Error compiling script (new function): user_script:1: syntax error'));
  t.strictSame(h.run('SCRIPT', 'FLUSH', 'LATER'), err('ERR SCRIPT FLUSH only support SYNC|ASYNC option'));
  t.strictSame(h.run('SCRIPT', 'FLUSH', 'ASYNC'), OK);
  t.strictSame(h.run('EVALSHA', sha, 1, 'k', 'v1'), Errors.noScript, 'flushed');
  t.strictSame(h.run('SCRIPT', 'FLUSH'), OK);
  t.end();
});

t.test('EVAL caches the body; numkeys errors', (t) => {
  const h = new Harness();
  const body = 'INCR $K1';
  t.equal(h.run('EVAL', body, 1, 'n'), 1);
  t.equal(h.run('EVALSHA', sha1(body), 1, 'n'), 2, 'EVAL cached the script');
  t.strictSame(h.run('EVAL', body, 'x', 'n'), Errors.notInteger);
  t.strictSame(h.run('EVAL', body, 2, 'n'), err("ERR Number of keys can't be greater than number of args"));
  t.strictSame(h.run('EVAL', body, -1, 'n'), err("ERR Number of keys can't be negative"));
  t.strictSame(h.run('EVALSHA', sha1(body), 3, 'n'), err("ERR Number of keys can't be greater than number of args"));
  t.strictSame(h.run('EVAL', 'syntax error', 0), err('ERR Error compiling script (new function): user_script:1: syntax error'));
  t.end();
});

t.test('redis.call checks, in Redis order, with Redis texts', (t) => {
  const h = new Harness();
  t.strictSame(h.run('EVAL', 'NOSUCH a', 0), err('ERR Unknown Redis command called from script'));
  t.strictSame(h.run('EVAL', 'GET', 0), err('ERR Wrong number of args calling Redis command from script'));
  t.strictSame(h.run('EVAL', 'EVAL x 0', 0), err('ERR This Redis command is not allowed from script'));
  t.strictSame(h.run('EVAL', 'SCRIPT FLUSH', 0), err('ERR This Redis command is not allowed from script'));
  t.strictSame(h.read('EVAL_RO', 'SET $K1 v', 1, 'k'), err('ERR Write commands are not allowed from read-only scripts'));
  t.equal(h.read('EXISTS', 'k'), 0);
  h.run('SET', 'k', 'v');
  t.equal(h.read('EVAL_RO', 'GET $K1', 1, 'k'), 'v', 'reads work in EVAL_RO');
  const sha = h.run('SCRIPT', 'LOAD', 'GET $K1') as string;
  t.equal(h.read('EVALSHA_RO', sha, 1, 'k'), 'v');
  t.strictSame(h.run('EVAL', 'SADD $K1 m', 1, 'k'), Errors.wrongType, 'command errors come back as replies');
  t.equal(h.run('EVAL', 'PING', 0), h.run('EVAL', 'PING', 0));
  t.equal(h.run('EVAL', 'ECHO hi', 0), 'hi');
  t.end();
});

t.test('SELECT inside a script is per-script; TIME is the entry time; PUBLISH reaches events', (t) => {
  const h = new Harness();
  t.equal(h.run('EVAL', 'SELECT 2\nSET k two\nGET k', 0), 'two');
  t.equal(h.run('GET', 'k'), null, 'the caller stays on db 0');
  h.db = 2;
  t.equal(h.run('GET', 'k'), 'two');
  h.db = 0;
  t.strictSame(h.run('EVAL', 'SELECT 99', 0), Errors.dbIndexOutOfRange);
  h.nowMs = T0 + 1234;
  t.strictSame(h.run('EVAL', 'TIME', 0), [String((T0 + 1234 - ((T0 + 1234) % 1000)) / 1000), '234000']);
  t.equal(h.run('EVAL', 'PUBLISH $K1 $A1', 1, 'chan', 'hello'), 1);
  t.strictSame(h.published, [['chan', 'hello']]);
  t.equal(h.run('PUBLISH', 'chan', 'direct'), 1);
  t.equal(h.published.length, 2);
  t.end();
});

t.test('the script cache is bounded: EVAL scripts evicted least recently used first, SCRIPT LOAD kept', (t) => {
  const h = new Harness({ limits: { scriptsMax: 3 } });
  const loaded = h.run('SCRIPT', 'LOAD', 'PING') as string;
  h.run('EVAL', 'ECHO 1', 0);
  h.run('EVAL', 'ECHO 2', 0);
  h.run('EVAL', 'ECHO 1', 0); // touch: 'ECHO 2' is now the oldest EVAL script
  h.run('EVAL', 'ECHO 3', 0);
  t.strictSame(h.read('SCRIPT', 'EXISTS', loaded, sha1('ECHO 1'), sha1('ECHO 2'), sha1('ECHO 3')), [1, 1, 0, 1]);
  t.equal(h.sm.stats().scripts, 3);
  const full = new Harness({ limits: { scriptsMax: 1 } });
  full.run('SCRIPT', 'LOAD', 'PING');
  t.strictSame(full.run('SCRIPT', 'LOAD', 'ECHO x'), err('ERR script cache is full; use SCRIPT FLUSH'));
  t.equal(full.run('EVAL', 'ECHO y', 0), 'y', 'EVAL still runs, uncached');
  t.end();
});

t.test('without an engine, scripting commands reply an error', (t) => {
  const h = new Harness({ engine: null });
  t.strictSame(h.run('EVAL', 'PING', 0), err('ERR scripting is not available on this server'));
  t.strictSame(h.run('SCRIPT', 'LOAD', 'PING'), err('ERR scripting is not available on this server'));
  t.end();
});
