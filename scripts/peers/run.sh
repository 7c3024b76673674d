#!/usr/bin/env bash
# Runs the lock libraries' OWN test suites against quorumlock (or, with PEER_TARGET=redis, against
# a real redis-server for reference), to show the libraries work unchanged.
#
# Only the npm registry is reachable here, so a suite can run only if the library's npm tarball
# ships it. Of the libraries we support, three do: redlock@4.2.0 (test.js), node-redis-warlock@1.0.2
# (test/warlock.js) and redis-lock@1.0.0 (test/test.js). redis-semaphore, redlock-universal,
# redlock 5, @sesamecare-oss/redlock, simple-redis-mutex and @microfleet/ioredis-lock publish no
# tests (their own suites live only in their git repositories); test/compat covers those instead.
#
# Each suite is unpacked into a temp dir, its devDependencies are installed from npm, and it runs
# with mocha against a fresh server on a free port. The suites hard-code their server address
# (redlock and redis-lock: the client default 127.0.0.1:6379, warlock: port 6386); the one edit
# made to them is that address, rewritten to the server started here. Nothing else is changed.
#
# Usage: npm run test:peers            (quorumlock, built into dist/ by `npm run build`)
#        PEER_TARGET=redis npm run test:peers
#        PEER_SUITES="redlock warlock" npm run test:peers
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
target=${PEER_TARGET:-quorumlock}
suites=${PEER_SUITES:-"redlock warlock redis-lock"}
work=$(mktemp -d "${TMPDIR:-/tmp}/quorumlock-peers-XXXXXX")
server_pid=""

cleanup() {
  if [[ -n "$server_pid" ]]; then kill -9 "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

start_server() {
  local port=$1
  if [[ "$target" == redis ]]; then
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --databases 16 >"$work/server-$port.log" 2>&1 &
  else
    "$root/bin/quorumlock" serve --port "$port" --data-dir "$work/data-$port" --raft-port "$(free_port)" >"$work/server-$port.log" 2>&1 &
  fi
  server_pid=$!
  for _ in $(seq 1 150); do
    if redis-cli -p "$port" PING 2>/dev/null | grep -q PONG; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "server on port $port did not answer PING; its output:" >&2
  cat "$work/server-$port.log" >&2
  return 1
}

stop_server() {
  if [[ -n "$server_pid" ]]; then kill -9 "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  server_pid=""
}

# unpack <npm spec> <dir>: npm pack + untar + install the package's own dependencies and devDependencies
# (--legacy-peer-deps: these suites predate npm 7, and e.g. warlock's eslint plugins have conflicting peers).
unpack() {
  local spec=$1 dir=$2
  mkdir -p "$dir"
  (cd "$work" && npm pack --silent "$spec" >"$dir.pack" 2>/dev/null) || return 1
  tar xzf "$work/$(tail -1 "$dir.pack")" -C "$dir" --strip-components=1 || return 1
  (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --legacy-peer-deps --loglevel=error >"$dir.install.log" 2>&1) || {
    cat "$dir.install.log" >&2
    return 1
  }
}

total_pass=0
total_fail=0
summary=()

# run_suite <name> <npm spec> <test path> <sed program that points the suite at $PORT>
run_suite() {
  local name=$1 spec=$2 tests=$3 retarget=$4
  local dir="$work/$name"
  echo "=== $name ($spec) against $target"
  if ! unpack "$spec" "$dir"; then
    summary+=("$name: could not be installed")
    total_fail=$((total_fail + 1))
    return
  fi
  local port
  port=$(free_port)
  sed -i -E "$retarget" "$dir/$tests"
  sed -i "s/__PEER_PORT__/$port/g" "$dir/$tests"
  if ! start_server "$port"; then
    summary+=("$name: server did not start")
    total_fail=$((total_fail + 1))
    stop_server
    return
  fi
  (cd "$dir" && timeout 600 npx --no-install mocha --exit --reporter spec "$tests") >"$dir.out" 2>&1
  cat "$dir.out"
  stop_server
  local pass fail
  pass=$(grep -Eo '^ *[0-9]+ passing' "$dir.out" | grep -Eo '[0-9]+' | tail -1)
  fail=$(grep -Eo '^ *[0-9]+ failing' "$dir.out" | grep -Eo '[0-9]+' | tail -1)
  pass=${pass:-0}
  fail=${fail:-0}
  if [[ "$pass" == 0 && "$fail" == 0 ]]; then fail=1; fi # mocha crashed before reporting
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  summary+=("$name: $pass passing, $fail failing")
}

for suite in $suites; do
  case "$suite" in
    redlock)
      run_suite redlock redlock@4.2.0 test.js \
        "s/createClient\(\)/createClient({port: __PEER_PORT__})/; s/createClient\(\{string_numbers: true\}\)/createClient({port: __PEER_PORT__, string_numbers: true})/; s/new \(require\('ioredis'\)\)\(\)/new (require('ioredis'))({port: __PEER_PORT__})/; s/new \(require\('ioredis'\)\)\(\{db: ([0-9])\}\)/new (require('ioredis'))({port: __PEER_PORT__, db: \1})/g"
      ;;
    warlock)
      run_suite warlock node-redis-warlock@1.0.2 test/warlock.js "s/port: 6386/port: __PEER_PORT__/"
      ;;
    redis-lock)
      run_suite redis-lock redis-lock@1.0.0 test/test.js "s/createClient\(\)/createClient({socket: {port: __PEER_PORT__}})/"
      ;;
    *)
      echo "unknown suite '$suite' (known: redlock warlock redis-lock)" >&2
      exit 2
      ;;
  esac
done

echo
echo "=== peer suites against $target"
for line in "${summary[@]}"; do echo "  $line"; done
echo "peers: $total_pass passed, $total_fail failed"
[[ "$total_fail" == 0 ]]
