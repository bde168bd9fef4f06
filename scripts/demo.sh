#!/usr/bin/env bash
# make demo: a sample population and its media, uploaded to a local S3 store,
# run end to end (enqueue → Postgres → feeder → Redis queue → worker → IVS
# simulator → Postgres) and printed as an outcome table.
#
# Uses the servers that are configured or running (IVSBATCH_DATABASE_URL,
# IVSBATCH_S3_ENDPOINT, IVSBATCH_REDIS_ADDR) and starts what is missing; it
# stops only what it started. Postgres: database "ivsbatch" (created if
# missing, nothing else touched). Redis: a private redis-server unless
# IVSBATCH_REDIS_ADDR is set. Everything it writes is under .run/demo. Each
# run is a new batch of new people (DEMO_SEED=N repeats a population; the
# same manifest submitted again is recognised and adds nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=$ROOT/.run/demo
BIN=$ROOT/.run/bin
mkdir -p "$RUN/logs" "$BIN"

say() { printf '\n== %s\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port what
  for _ in $(seq 1 150); do port_open "$1" && return 0; sleep 0.2; done
  echo "demo: $2 did not come up on port $1 (see $RUN/logs)" >&2; return 1
}

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start() { # name command...: run in background, log to $RUN/logs/name.log
  local name=$1; shift
  "$@" >"$RUN/logs/$name.log" 2>&1 &
  PIDS+=("$!")
}

say "dependencies and services"
scripts/deps.sh
eval "$(scripts/services.sh)"
export PATH="$(go env GOPATH)/bin:$PATH"

say "building commands"
go build -o "$BIN/" ./cmd/demo ./cmd/ivs-sim ./cmd/enqueue ./cmd/worker ./cmd/ops

# Local demo credentials (API.md): not secrets.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-ivsbatch}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-ivsbatch-secret}
export AWS_REGION=${AWS_REGION:-us-east-1}
export IVS_AK=${IVS_AK:-SIMAK0000000000000000}
export IVS_SK=${IVS_SK:-sim-secret-key}
export IVSBATCH_DATABASE_URL=${IVSBATCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ivsbatch?sslmode=disable}
# file:// media references are read only under this directory (demo prepare -media file writes there).
export IVSBATCH_MEDIA_ROOT=${IVSBATCH_MEDIA_ROOT:-$RUN}
# s3:// media are read only from the buckets named here (demo prepare puts them in ivsbatch-demo).
export IVSBATCH_S3_BUCKETS=${IVSBATCH_S3_BUCKETS:-ivsbatch-demo}

# Keys for personal data at rest: made once for this checkout's demo
# database, kept in files (never on a command line).
if [ -z "${IVSBATCH_PII_KEYS:-}${IVSBATCH_PII_KEYS_FILE:-}" ]; then
  umask 077
  [ -s "$ROOT/.run/pii.keys" ] || echo "demo1:$(head -c 32 /dev/urandom | base64 -w0)" >"$ROOT/.run/pii.keys"
  [ -s "$ROOT/.run/pii.index" ] || head -c 32 /dev/urandom | base64 -w0 >"$ROOT/.run/pii.index"
  umask 022
  export IVSBATCH_PII_KEYS_FILE=$ROOT/.run/pii.keys IVSBATCH_PII_INDEX_KEY_FILE=$ROOT/.run/pii.index
fi

say "S3 store"
if [ -z "${IVSBATCH_S3_ENDPOINT:-}" ]; then
  s3port=7070
  port_open "$s3port" && s3port=$("$BIN/demo" freeport)
  mkdir -p "$RUN/s3"
  # Credentials go in the environment, not on the command line (ps shows that).
  export ROOT_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" ROOT_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
  start versitygw versitygw --port "127.0.0.1:$s3port" --quiet posix "$RUN/s3"
  wait_port "$s3port" versitygw
  export IVSBATCH_S3_ENDPOINT=http://127.0.0.1:$s3port
  echo "started versitygw on :$s3port (data in $RUN/s3)"
fi

say "Redis"
if [ -z "${IVSBATCH_REDIS_ADDR:-}" ]; then
  port=$("$BIN/demo" freeport)
  mkdir -p "$RUN/redis"
  start redis redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly yes --maxmemory-policy noeviction --dir "$RUN/redis"
  wait_port "$port" redis-server
  export IVSBATCH_REDIS_ADDR=127.0.0.1:$port
  echo "started a private redis-server on :$port"
fi

say "Postgres database"
"$BIN/demo" ensure-db
"$BIN/ops" migrate   # the only command that migrates; the others stop on an older schema

say "sample population and media"
"$BIN/demo" prepare -out "$RUN" -bucket ivsbatch-demo -seed "${DEMO_SEED:-$(date +%s)}" | tee "$RUN/prepare.out"
manifest=$(sed -n 's/^manifest=//p' "$RUN/prepare.out")

say "IVS simulator"
simport=8090
if port_open "$simport"; then
  simport=$("$BIN/demo" freeport)
  echo "port 8090 is taken; the demo's simulator (it needs the demo registry) uses :$simport"
fi
start ivs-sim "$BIN/ivs-sim" -addr "127.0.0.1:$simport" -registry "$RUN/registry.jsonl"
wait_port "$simport" ivs-sim
export IVS_ENDPOINT=http://127.0.0.1:$simport

say "enqueue"
"$BIN/enqueue" submit -name demo "$manifest" | tee "$RUN/enqueue.out"
batch=$(sed -n 's/.*batch_id=\([0-9][0-9]*\).*/\1/p' "$RUN/enqueue.out" | head -n1)
[ -n "$batch" ] || { echo "demo: enqueue printed no batch_id" >&2; exit 1; }

say "worker"
start worker "$BIN/worker" run
"$BIN/enqueue" status -batch "$batch" -wait

say "outcome table (batch $batch)"
status=0
"$BIN/demo" report -out "$RUN" -batch "$batch" || status=$?
echo
"$BIN/demo" ledger || true
echo "logs: $RUN/logs"
exit "$status"
