// The Lua scripts the Node lock clients send, byte for byte (from /work/shared/reference/clients.md;
// every body's SHA1 matches the one the clients compute, which client_scripts.test.ts re-checks).

export interface ClientScript {
  readonly sha: string;
  readonly body: string;
}

export const CLIENT_SCRIPTS: Readonly<Record<string, ClientScript>> = {
  "redlock-v4.2.0-lockScript": {
    sha: 'e5a322e2634ef59a516e8ea150cb085afafee684',
    body: "\n\t-- Return 0 if an entry already exists.\n\tfor i, key in ipairs(KEYS) do\n\t\tif redis.call(\"exists\", key) == 1 then\n\t\t\treturn 0\n\t\tend\n\tend\n\n\t-- Create an entry for each provided key.\n\tfor i, key in ipairs(KEYS) do\n\t\tredis.call(\"set\", key, ARGV[1], \"PX\", ARGV[2])\n\tend\n\n\t-- Return the number of entries added.\n\treturn #KEYS\n",
  },
  "redlock-v4.2.0-unlockScript": {
    sha: '0f0f23b9048b36752b5be114f357ba083449f908',
    body: "\n\tlocal count = 0\n\tfor i, key in ipairs(KEYS) do\n\t\t-- Only remove entries for *this* lock value.\n\t\tif redis.call(\"get\", key) == ARGV[1] then\n\t\t\tredis.pcall(\"del\", key)\n\t\t\tcount = count + 1\n\t\tend\n\tend\n\n\t-- Return the number of entries removed.\n\treturn count\n",
  },
  "redlock-v4.2.0-extendScript": {
    sha: 'ce46f80993d5dac20dd066eb301a4e37994bdbed',
    body: "\n\t-- Return 0 if an entry exists with a *different* lock value.\n\tfor i, key in ipairs(KEYS) do\n\t\tif redis.call(\"get\", key) ~= ARGV[1] then\n\t\t\treturn 0\n\t\tend\n\tend\n\n\t-- Update the entry for each provided key.\n\tfor i, key in ipairs(KEYS) do\n\t\tredis.call(\"set\", key, ARGV[1], \"PX\", ARGV[2])\n\tend\n\n\t-- Return the number of entries updated.\n\treturn #KEYS\n",
  },
  "redlock-v5-ACQUIRE_SCRIPT": {
    sha: '96da70f7716f27d278a5218544df37fd8b0a5e4c',
    body: "\n  -- Return 0 if an entry already exists.\n  for i, key in ipairs(KEYS) do\n    if redis.call(\"exists\", key) == 1 then\n      return 0\n    end\n  end\n\n  -- Create an entry for each provided key.\n  for i, key in ipairs(KEYS) do\n    redis.call(\"set\", key, ARGV[1], \"PX\", ARGV[2])\n  end\n\n  -- Return the number of entries added.\n  return #KEYS\n",
  },
  "redlock-v5-EXTEND_SCRIPT": {
    sha: 'aed6f382e410db8ba7926d4e5e9aab410bf2a78a',
    body: "\n  -- Return 0 if an entry exists with a *different* lock value.\n  for i, key in ipairs(KEYS) do\n    if redis.call(\"get\", key) ~= ARGV[1] then\n      return 0\n    end\n  end\n\n  -- Update the entry for each provided key.\n  for i, key in ipairs(KEYS) do\n    redis.call(\"set\", key, ARGV[1], \"PX\", ARGV[2])\n  end\n\n  -- Return the number of entries updated.\n  return #KEYS\n",
  },
  "redlock-v5-RELEASE_SCRIPT": {
    sha: 'e4612211c9f8f51c257e26e056b0a654b3187242',
    body: "\n  local count = 0\n  for i, key in ipairs(KEYS) do\n    -- Only remove entries for *this* lock value.\n    if redis.call(\"get\", key) == ARGV[1] then\n      redis.pcall(\"del\", key)\n      count = count + 1\n    end\n  end\n\n  -- Return the number of entries removed.\n  return count\n",
  },
  "sesame-v1.3+-ACQUIRE_SCRIPT": {
    sha: '1b77b94aa78451d55dfa97e18819bfbfc596cb5b',
    body: "\n  \n  -- Protected call to execute SELECT command if supported\n  redis.pcall(\"SELECT\", tonumber(ARGV[1]))\n\n\n  -- Return 0 if an entry already exists.\n  for i, key in ipairs(KEYS) do\n    if redis.call(\"exists\", key) == 1 then\n      return 0\n    end\n  end\n\n  -- Create an entry for each provided key.\n  for i, key in ipairs(KEYS) do\n    redis.call(\"set\", key, ARGV[2], \"PX\", ARGV[3])\n  end\n\n  -- Return the number of entries added.\n  return #KEYS\n",
  },
  "sesame-v1.3+-EXTEND_SCRIPT": {
    sha: '820e9778d2b6733e9ed771e4be90ae73a95a6f3b',
    body: "\n  \n  -- Protected call to execute SELECT command if supported\n  redis.pcall(\"SELECT\", tonumber(ARGV[1]))\n\n\n  -- Return 0 if an entry exists with a *different* lock value.\n  for i, key in ipairs(KEYS) do\n    if redis.call(\"get\", key) ~= ARGV[2] then\n      return 0\n    end\n  end\n\n  -- Update the entry for each provided key.\n  for i, key in ipairs(KEYS) do\n    redis.call(\"set\", key, ARGV[2], \"PX\", ARGV[3])\n  end\n\n  -- Return the number of entries updated.\n  return #KEYS\n",
  },
  "sesame-v1.3+-RELEASE_SCRIPT": {
    sha: 'df51f6837dcfe303d334e6abea9aeae192bab216',
    body: "\n  \n  -- Protected call to execute SELECT command if supported\n  redis.pcall(\"SELECT\", tonumber(ARGV[1]))\n\n\n  local count = 0\n  for i, key in ipairs(KEYS) do\n    -- Only remove entries for *this* lock value.\n    if redis.call(\"get\", key) == ARGV[2] then\n      redis.pcall(\"del\", key)\n      count = count + 1\n    end\n  end\n\n  -- Return the number of entries removed.\n  return count\n",
  },
  "semaphore-v5.7.0-mutex-refresh-numkeys1": {
    sha: '594683e49a64ebaf975caf5f8079a1d097c438f1',
    body: "\n  local key = KEYS[1]\n  local identifier = ARGV[1]\n  local lockTimeout = ARGV[2]\n\n  local value = redis.call('get', key)\n\n  if value == identifier then\n    redis.call('pexpire', key, lockTimeout)\n    return 1\n  end\n\n  return 0\n  ",
  },
  "semaphore-v5.7.0-mutex-release-numkeys1": {
    sha: '7157921a7cc7cfba979acf6d63f073151df17d12',
    body: "\n  local key = KEYS[1]\n  local identifier = ARGV[1]\n\n  if redis.call('get', key) == identifier then\n    return redis.call('del', key)\n  end\n\n  return 0\n  ",
  },
  "semaphore-v5.7.0-semaphore-acquire-numkeys1": {
    sha: '43ebdb49120d170e08af560cb4e46e36f8585936',
    body: "\n  local key = KEYS[1]\n  local limit = tonumber(ARGV[1])\n  local identifier = ARGV[2]\n  local lockTimeout = tonumber(ARGV[3])\n  local now = tonumber(ARGV[4])\n  local expiredTimestamp = now - lockTimeout\n\n  redis.call('zremrangebyscore', key, '-inf', expiredTimestamp)\n\n  if redis.call('zcard', key) < limit then\n    redis.call('zadd', key, now, identifier)\n    redis.call('pexpire', key, lockTimeout)\n    return 1\n  else\n    return 0\n  end",
  },
  "semaphore-v5.7.0-semaphore-refresh-numkeys1": {
    sha: '999a49a1d07671a8027165641001f5bad44608b3',
    body: "\n  local key = KEYS[1]\n  local limit = tonumber(ARGV[1])\n  local identifier = ARGV[2]\n  local lockTimeout = tonumber(ARGV[3])\n  local now = tonumber(ARGV[4])\n  local expiredTimestamp = now - lockTimeout\n\n  redis.call('zremrangebyscore', key, '-inf', expiredTimestamp)\n\n  if redis.call('zscore', key, identifier) then\n    redis.call('zadd', key, now, identifier)\n    redis.call('pexpire', key, lockTimeout)\n    return 1\n  else\n    return 0\n  end",
  },
  "semaphore-v5.7.0-multiSemaphore-acquire-numkeys1": {
    sha: '10c1c2e05e7c48aa5824d227b8c51abcde87b18e',
    body: "\n  local key = KEYS[1]\n  local limit = tonumber(ARGV[1])\n  local permits = tonumber(ARGV[2])\n  local identifier = ARGV[3]\n  local lockTimeout = tonumber(ARGV[4])\n  local now = tonumber(ARGV[5])\n  local expiredTimestamp = now - lockTimeout\n  local args = {}\n\n  redis.call('zremrangebyscore', key, '-inf', expiredTimestamp)\n\n  if (redis.call('zcard', key) + permits) <= limit then\n    for i=0, permits - 1 do\n      table.insert(args, now)\n      table.insert(args, identifier .. '_' .. i)\n    end\n    redis.call('zadd', key, unpack(args))\n    redis.call('pexpire', key, lockTimeout)\n    return 1\n  else\n    return 0\n  end",
  },
  "semaphore-v5.7.0-multiSemaphore-refresh-numkeys1": {
    sha: '2327bcdc5edb5b8687f6d19b5e1f42b815ebddab',
    body: "\n  local key = KEYS[1]\n  local limit = tonumber(ARGV[1])\n  local permits = tonumber(ARGV[2])\n  local identifier = ARGV[3]\n  local lockTimeout = tonumber(ARGV[4])\n  local now = tonumber(ARGV[5])\n  local expiredTimestamp = now - lockTimeout\n  local args = {}\n\n  redis.call('zremrangebyscore', key, '-inf', expiredTimestamp)\n\n  if redis.call('zscore', key, identifier .. '_0') then\n    for i=0, permits - 1 do\n      table.insert(args, now)\n      table.insert(args, identifier .. '_' .. i)\n    end\n    redis.call('zadd', key, unpack(args))\n    redis.call('pexpire', key, lockTimeout)\n    return 1\n  else\n    return 0\n  end",
  },
  "semaphore-v5.7.0-multiSemaphore-release-numkeys1": {
    sha: '0bd1010c98f1ddd70a6024fd374489a8ea3d2c12',
    body: "\n  local key = KEYS[1]\n  local permits = tonumber(ARGV[1])\n  local identifier = ARGV[2]\n  local args = {}\n\n  for i=0, permits - 1 do\n    table.insert(args, identifier .. '_' .. i)\n  end\n\n  return redis.call('zrem', key, unpack(args))\n",
  },
  "universal-DELETE_IF_MATCH_SCRIPT": {
    sha: 'fd83166fb3d7235e3ace652b700c9e217c1adc1f',
    body: "if redis.call(\"GET\", KEYS[1]) == ARGV[1] then\n    return redis.call(\"DEL\", KEYS[1])\n  else\n    return 0\n  end",
  },
  "universal-EXTEND_IF_MATCH_SCRIPT": {
    sha: 'e218d686a8f90368e5cd45074f06ce766cad9987',
    body: "if redis.call(\"GET\", KEYS[1]) == ARGV[1] then\n    return redis.call(\"PEXPIRE\", KEYS[1], ARGV[2])\n  else\n    return 0\n  end",
  },
  "universal-ATOMIC_EXTEND_SCRIPT": {
    sha: 'c000e088bd4aca36ab429d3b7a16fc736f4cb6f1',
    body: "local current_ttl = redis.call(\"PTTL\", KEYS[1])\nlocal min_ttl = tonumber(ARGV[2])\nlocal new_ttl = tonumber(ARGV[3])\n\n-- Check if key exists\nif current_ttl == -2 then\n  return {-1, -2}  -- Key doesn't exist\nend\n\n-- Check if we have enough time remaining for safe extension\nif current_ttl < min_ttl then\n  return {0, current_ttl}  -- Too late, include actual TTL for logging\nend\n\n-- Check value and extend atomically\nlocal current_value = redis.call(\"GET\", KEYS[1])\nif current_value == ARGV[1] then\n  redis.call(\"PEXPIRE\", KEYS[1], new_ttl)\n  return {1, current_ttl}  -- Success with original TTL\nelse\n  return {-1, current_ttl}  -- Value mismatch (lock stolen)\nend",
  },
  "universal-BATCH_ACQUIRE_SCRIPT": {
    sha: '514d8d1b08387624661da2a9098d3949b633eb3a',
    body: "-- Phase 1: Check all keys are available\n  for i = 1, #KEYS do\n    if redis.call(\"EXISTS\", KEYS[i]) == 1 then\n      return {0, i, KEYS[i]}\n    end\n  end\n\n  -- Phase 2: All keys available, acquire atomically\n  local ttl = tonumber(ARGV[#ARGV])\n  for i = 1, #KEYS do\n    redis.call(\"SET\", KEYS[i], ARGV[i], \"PX\", ttl)\n  end\n\n  return {1, #KEYS}",
  },
  "universal-INSPECT_SCRIPT": {
    sha: '994908155dadb1bed08a5af6dee7fedf956c4826',
    body: "local value = redis.call(\"GET\", KEYS[1])\n-- If key doesn't exist, return nil (becomes null in JS)\nif not value then\n  return nil\nend\nlocal ttl = redis.call(\"PTTL\", KEYS[1])\n-- Returns [value, ttl] as array\nreturn {value, ttl}",
  },
  "warlock-parityDel": {
    sha: '5cc368fb92acd8fee3a986dc8e971d6cf28c3b44',
    body: "--\n-- Delete a key if content is equal\n--\n-- KEYS[1]   - key\n-- ARGV[1]   - content\nlocal key     = KEYS[1]\nlocal content = ARGV[1]\n\nlocal value = redis.call('get', key)\n\nif value == content then\n  return redis.call('del', key);\nend\n\nreturn 0\n",
  },
  "warlock-parityRelock": {
    sha: '78d3bb55c589f1b2edf66f3527f5017f8dfcd6bb',
    body: "--\n-- Extend the key if content is equal\n-- This will extend the lock on the\n--\n-- KEYS[1]   - key\n-- KEYS[2]   - content\n-- KEYS[3]   - lock id\nlocal key = KEYS[1]\nlocal ttl = KEYS[2]\nlocal id  = KEYS[3]\n\nlocal value = redis.call('GET', key)\n\nif value == id then\n  return redis.call('SET', key, id, 'PX', ttl, 'XX');\nelse\n  return 0\nend",
  },
  "simple-redis-mutex-v3-releaseScript": {
    sha: '02718596825c5bf6c57af391b4dc01a6d2d9d88a',
    body: "\n  local lockKey = KEYS[1]\n  local updatesChannel = KEYS[2]\n  local lockValue = ARGV[1]\n\n  if redis.call(\"GET\", lockKey) == lockValue then\n      redis.call(\"DEL\", lockKey)\n      redis.call(\n        \"PUBLISH\",\n        updatesChannel,\n        string.format('{ \"key\": \"%s\", \"value\": \"%s\" }', lockKey, lockValue)\n      )\n  end\n",
  },
  "ioredis-lock-delifequal": {
    sha: 'da225123b2af4a41136fdba7ffac1e045e344da1',
    body: "\nif redis.call(\"GET\", KEYS[1]) == ARGV[1] then\n  return redis.call(\"DEL\", KEYS[1])\nend\nreturn 0",
  },
  "ioredis-lock-pexpireifequal": {
    sha: 'bf3108245472c550b02852e1e425128e5eb399c4',
    body: "\nif redis.call(\"GET\", KEYS[1]) == ARGV[1] then\n  return redis.call(\"PEXPIRE\", KEYS[1], ARGV[2])\nend\nreturn 0\n",
  },
  "redlock-v4.0.0-lockScript": {
    sha: 'd01fb69e6ecc8bad3ca9bacba9f4f9e96862313f',
    body: "\n\t-- Return 0 if an entry already exists.\n\tfor i, key in ipairs(KEYS) do\n\t\tif redis.call(\"exists\", key) == 1 then\n\t\t\treturn 0\n\t\tend\n\tend\n\n\t-- Create an entry for each provided key.\n\tfor i, key in ipairs(KEYS) do\n\t\tredis.call(\"set\", key, ARGV[1], \"PX\", ARGV[2])\n\tend\n\n\t-- Return the number of entries added.\n\treturn table.getn(KEYS)\n",
  },
  "redlock-v3-lock": {
    sha: '862f31bf38e9b63ce28d6e9e5143551bb34ef981',
    body: "return redis.call(\"set\", KEYS[1], ARGV[1], \"NX\", \"PX\", ARGV[2])",
  },
  "redlock-v3-unlock": {
    sha: 'cf0e94b2e9ffc7e04395cf88f7583fc309985910',
    body: "if redis.call(\"get\", KEYS[1]) == ARGV[1] then return redis.call(\"del\", KEYS[1]) else return 0 end",
  },
  "redlock-v3-extend": {
    sha: 'a7aba3bc5d6e99b3003da8b9d80a63b9f4092ecf',
    body: "if redis.call(\"get\", KEYS[1]) == ARGV[1] then return redis.call(\"pexpire\", KEYS[1], ARGV[2]) else return 0 end",
  },
};
