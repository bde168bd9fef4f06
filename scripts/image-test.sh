#!/usr/bin/env bash
# make image-test: the image, built and run on a machine without an image
# registry. Slow (minutes); not part of make test.
#
#  1. Stand-ins for the Dockerfile's base images, from Debian's packages:
#     `mmdebstrap --variant=minbase bookworm` imported as the runtime base, and
#     the same tree plus this machine's Go toolchain (GOROOT, the version go.mod
#     names) as the build base. Kept between runs (IMAGE_TEST_FRESH=1 rebuilds).
#  2. The real Dockerfile, unchanged, built on them (scripts/image.sh: the base
#     images are build arguments), then checked: a non-root numeric user, the
#     HEALTHCHECK and version label, `worker -version` run as that user, every
#     command present and its libraries resolved, ffmpeg/ffprobe, no source tree.
#  3. The stack in the roles docker-compose.yml gives them, each command run
#     from the image with `podman run --network host`: the one-shot migration,
#     the simulator, the worker (healthy by the image's own HEALTHCHECK); the
#     demo's population prepared, submitted and reported from the image, against
#     this machine's Postgres (a database of its own, dropped at the end), a
#     private redis-server and a private versitygw. Secrets reach the containers
#     as mounted files (*_FILE). The outcome table must match what the
#     population was built to produce; the worker's metrics must show the fleet
#     gauges; the worker must stop cleanly on SIGTERM.
#  4. docker-compose.yml loaded by compose-go, docker compose's own loader, and
#     checked (go test -run TestComposeStack ./deploy/).
# Not run here: `compose up` of the whole file. Its third-party images
# (postgres, redis, versitygw, prometheus, alertmanager, grafana, asynqmon)
# cannot be pulled without a registry, and Debian's podman-compose 1.0.3 has no
# `config`, ignores depends_on conditions and profiles (its --dry-run still
# creates volumes and networks): use docker compose v2 or podman-compose 1.1+.
#
# Podman here needs runc and fixed ulimits (crun refuses this kernel's cgroup
# layout; raising nofile/nproc is not permitted): a containers.conf under
# .run/image-test says so through CONTAINERS_CONF. Timings: .run/image-test/timings.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
W=$ROOT/.run/image-test
STANDIN=localhost/ivsbatch-standin
IMAGE=localhost/ivsbatch
mkdir -p "$W/logs"
: >"$W/timings.txt"

say() { printf '\n== %s\n' "$*"; }
fail() { echo "image-test: $*" >&2; exit 1; }
timed() { # name command...: run, record the wall time
  local name=$1 start=$SECONDS; shift
  "$@"
  printf '%-28s %4ds\n' "$name" $((SECONDS - start)) | tee -a "$W/timings.txt"
}

say "tools"
need=()
for tool in podman mmdebstrap runc; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "image-test: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "${need[@]}" uidmap slirp4netns >/dev/null ||
    { $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null &&
      $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "${need[@]}" uidmap slirp4netns >/dev/null; }
fi
scripts/deps.sh
eval "$(scripts/services.sh)"
export PATH="$(go env GOPATH)/bin:$PATH"
cat >"$W/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$W/containers.conf

say "base image stand-ins"
gover=$(go env GOVERSION)
gover=${gover#go}
modgo=$(sed -n 's/^go //p' go.mod)
[ "$gover" = "$modgo" ] || fail "the Go toolchain here is $gover, go.mod wants $modgo: the build stand-in must carry go.mod's"
runtime_base=$STANDIN/debian:bookworm-slim
build_base=$STANDIN/golang:$gover-bookworm
standins() {
  if [ "${IMAGE_TEST_FRESH:-}" = 1 ] || [ ! -s "$W/bookworm.tar" ]; then
    rm -f "$W/bookworm.tar"
    mmdebstrap --quiet --variant=minbase bookworm "$W/bookworm.tar"
  fi
  if [ "${IMAGE_TEST_FRESH:-}" = 1 ] || ! podman image exists "$runtime_base"; then
    podman import --quiet --change 'CMD ["bash"]' "$W/bookworm.tar" "$runtime_base" >/dev/null
  fi
  if [ "${IMAGE_TEST_FRESH:-}" = 1 ] || ! podman image exists "$build_base"; then
    local goroot
    goroot=$(go env GOROOT)
    cp "$W/bookworm.tar" "$W/golang.tar"
    tar -C "$goroot" -rf "$W/golang.tar" --transform 's,^\.,usr/local/go,' .
    # This machine reaches the module proxy through a TLS-intercepting egress
    # whose CA only the host trusts: its local CAs go where the build stage's
    # ca-certificates package picks them up. (A real golang image needs none.)
    if [ -n "$(ls /usr/local/share/ca-certificates/ 2>/dev/null)" ]; then
      tar -C / -rf "$W/golang.tar" usr/local/share/ca-certificates
    fi
    # As the golang image: the toolchain on PATH, GOPATH=/go; and this machine's module proxy.
    podman import --quiet \
      --change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV GOPATH=/go' --change 'ENV GOTOOLCHAIN=local' \
      --change "ENV GOPROXY=$(go env GOPROXY)" --change "ENV GOSUMDB=$(go env GOSUMDB)" \
      --change 'WORKDIR /go' --change 'CMD ["bash"]' "$W/golang.tar" "$build_base" >/dev/null
    rm -f "$W/golang.tar"
  fi
}
timed "stand-ins" standins
podman run --rm --no-healthcheck "$build_base" go version

say "build the Dockerfile (unchanged) on the stand-ins"
VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev)-image-test
export VERSION IMAGE
export BUILD_ARGS="--build-arg GO_IMAGE=$build_base --build-arg RUNTIME_IMAGE=$runtime_base"
timed "image build" scripts/image.sh 2>&1 | tee "$W/logs/build.log" | grep -E '^(STEP|COMMIT|built|Error)|image build' || true
podman image exists "$IMAGE:$VERSION" || fail "no image $IMAGE:$VERSION (see $W/logs/build.log)"
img=$IMAGE:$VERSION

say "image checks"
check() { # what command...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else fail "$what"; fi
}
user=$(podman image inspect --format '{{.Config.User}}' "$img")
check "non-root numeric user ($user)" test "$user" = 10001:10001
hc=$(podman image inspect --format '{{.Config.Healthcheck.Test}}' "$img")
check "HEALTHCHECK in the image: $hc" grep -q healthcheck <<<"$hc"
label=$(podman image inspect --format '{{index .Config.Labels "org.opencontainers.image.version"}}' "$img")
check "version label ($label)" test "$label" = "$VERSION"
out=$(podman run --rm --no-healthcheck "$img" worker -version)
check "worker -version as uid $(podman run --rm --no-healthcheck "$img" id -u): $out" test "$out" = "worker $VERSION"
for cmd in worker enqueue ops ivs-sim demo healthcheck; do
  check "$cmd -version" podman run --rm --no-healthcheck "$img" "$cmd" -version
done
missing=$(podman run --rm --no-healthcheck "$img" sh -c 'for b in /usr/local/bin/*; do ldd "$b" 2>&1 | grep "not found" | sed "s|^|$b: |"; done')
check "every command's shared libraries resolve${missing:+: $missing}" test -z "$missing"
check "ffmpeg and ffprobe" podman run --rm --no-healthcheck "$img" sh -c 'ffmpeg -hide_banner -version >/dev/null && ffprobe -hide_banner -version >/dev/null'
src=$(podman run --rm --no-healthcheck "$img" sh -c 'find / -xdev \( -name "*.go" -o -name go.mod -o -path /usr/local/go \) -print 2>/dev/null | head -3')
check "no source tree or Go toolchain${src:+: $src}" test -z "$src"
podman image inspect --format '{{.Size}}' "$img" | awk '{printf "image size: %.0f MB\n", $1/1e6}'

say "stack: Postgres database, Redis, S3"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 150); do port_open "$1" && return 0; sleep 0.2; done
  fail "$2 did not come up on port $1"
}
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
CTRS=()
DB=ivsbatch_imagetest_$$
cleanup() {
  local c pid
  for c in "${CTRS[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql "$IVSBATCH_PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
psql "$IVSBATCH_PG_ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null
pg=${IVSBATCH_PG_ADMIN_URL%%/postgres\?*}
redis_port=$(freeport)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --maxmemory-policy noeviction \
  --dir "$W" >"$W/logs/redis.log" 2>&1 &
PIDS+=("$!")
wait_port "$redis_port" redis-server
s3_port=$(freeport)
rm -rf "$W/s3" && mkdir -p "$W/s3"
ROOT_ACCESS_KEY_ID=ivsbatch ROOT_SECRET_ACCESS_KEY=ivsbatch-secret \
  versitygw --port "127.0.0.1:$s3_port" --quiet posix "$W/s3" >"$W/logs/versitygw.log" 2>&1 &
PIDS+=("$!")
wait_port "$s3_port" versitygw
sim_port=$(freeport)
metrics_port=$(freeport)

# Secrets as files, mounted read-only at /run/secrets as compose and the
# Kubernetes manifests mount them (demo values: the simulator's documented
# pair, the local store's credentials, fresh personal-data keys).
sec=$W/secrets
rm -rf "$sec" && mkdir -p "$sec"
printf 'SIMAK0000000000000000' >"$sec/ivs_ak"
printf 'sim-secret-key' >"$sec/ivs_sk"
printf 'ivsbatch-secret' >"$sec/aws_secret_access_key"
echo "imagetest:$(head -c 32 /dev/urandom | base64 -w0)" >"$sec/pii_keys"
head -c 32 /dev/urandom | base64 -w0 >"$sec/pii_index_key"
chmod 0444 "$sec"/*
# Key files others can read are refused: the image user's group reads these.
chgrp 10001 "$sec/pii_keys" "$sec/pii_index_key" && chmod 0440 "$sec/pii_keys" "$sec/pii_index_key"
demo=$W/demo
rm -rf "$demo" && mkdir -p "$demo" && chown 10001:10001 "$demo"

envs=(
  -e "IVSBATCH_DATABASE_URL=$pg/$DB?sslmode=disable"
  -e "IVSBATCH_REDIS_ADDR=127.0.0.1:$redis_port"
  -e "IVSBATCH_S3_ENDPOINT=http://127.0.0.1:$s3_port" -e IVSBATCH_S3_BUCKETS=ivsbatch-demo
  -e AWS_ACCESS_KEY_ID=ivsbatch -e AWS_SECRET_ACCESS_KEY_FILE=/run/secrets/aws_secret_access_key -e AWS_REGION=us-east-1
  -e "IVS_ENDPOINT=http://127.0.0.1:$sim_port"
  -e IVS_AK_FILE=/run/secrets/ivs_ak -e IVS_SK_FILE=/run/secrets/ivs_sk
  -e IVSBATCH_PII_KEYS_FILE=/run/secrets/pii_keys -e IVSBATCH_PII_INDEX_KEY_FILE=/run/secrets/pii_index_key
  -e "IVSBATCH_METRICS_ADDR=127.0.0.1:$metrics_port"
)
mounts=(-v "$sec:/run/secrets:ro" -v "$demo:/demo")
run() { podman run --rm --no-healthcheck --network host "${envs[@]}" "${mounts[@]}" "$img" "$@"; }
started=
start() { # what command...: a detached container, named in $started
  local what=$1; shift
  started=ivsbatch-imagetest-$what-$$
  CTRS+=("$started")
  # Without systemd podman cannot schedule the image's healthcheck (it says
  # so on stderr); this script runs it with podman healthcheck run.
  podman run -d --name "$started" --network host "${envs[@]}" "${mounts[@]}" "$img" "$@" >/dev/null 2>"$W/logs/$what.start.log"
}

say "migrate (one-shot, as compose's migrate service)"
timed "migrate" run ops migrate >"$W/logs/migrate.log" 2>&1 || { cat "$W/logs/migrate.log"; fail "migrate"; }

say "demo population and media (from the image)"
timed "demo prepare" run demo prepare -out /demo -bucket ivsbatch-demo -seed "${DEMO_SEED:-$(date +%s)}" |
  tee "$W/prepare.out"
manifest=$(sed -n 's/^manifest=//p' "$W/prepare.out")
[ -n "$manifest" ] || fail "demo prepare printed no manifest"

say "simulator"
start ivs-sim ivs-sim -addr "127.0.0.1:$sim_port" -registry /demo/registry.jsonl
sim=$started
for _ in $(seq 1 100); do podman exec "$sim" healthcheck "http://127.0.0.1:$sim_port/healthz" 2>/dev/null && break; sleep 0.3; done
check "simulator healthy" podman exec "$sim" healthcheck "http://127.0.0.1:$sim_port/healthz"

say "submit"
run enqueue submit -name image-test "$manifest" | tee "$W/enqueue.out"
batch=$(sed -n 's/.*batch_id=\([0-9][0-9]*\).*/\1/p' "$W/enqueue.out" | head -n1)
[ -n "$batch" ] || fail "enqueue printed no batch_id"

say "worker"
start_worker=$SECONDS
start worker worker run
worker=$started
healthy=
for _ in $(seq 1 60); do
  if podman healthcheck run "$worker" >/dev/null 2>&1; then healthy=1; break; fi
  sleep 0.5
done
check "worker healthy by the image's HEALTHCHECK" test -n "$healthy"
timed "batch $batch" run enqueue status -batch "$batch" -wait -timeout 10m >"$W/logs/status.log" 2>&1 ||
  { tail -20 "$W/logs/status.log"; podman logs --tail 50 "$worker"; fail "batch $batch did not finish"; }
echo "worker start to batch done: $((SECONDS - start_worker))s" | tee -a "$W/timings.txt"

say "outcome table (batch $batch)"
run demo report -out /demo -batch "$batch" | tee "$W/report.txt" || fail "the outcome table differs from the expected one"
run demo ledger | tail -5

say "metrics"
metrics=$(curl -fsS "http://127.0.0.1:$metrics_port/metrics")
for series in 'ivsbatch_fleet_exporter 1' "ivsbatch_batch_records{batch=\"$batch\",status=\"done\"}" \
  'ivsbatch_ivs_billed_calls_total{endpoint=' 'ivsbatch_queue_tasks{endpoint='; do
  check "metrics show $series" grep -qF "$series" <<<"$metrics"
done

say "SIGTERM"
stop_start=$SECONDS
podman stop -t 60 "$worker" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$worker")
check "worker stopped on SIGTERM with exit 0 in $((SECONDS - stop_start))s (exit $code)" test "$code" = 0

say "compose file"
check "docker-compose.yml loads with compose-go and holds what README promises" \
  sh -c 'go test -count=1 -run TestComposeStack ./deploy/ >"$1" 2>&1 || { cat "$1"; exit 1; }' _ "$W/logs/compose.log"
echo
echo "timings (this run; re-measure on a quiet machine before quoting them):"
cat "$W/timings.txt"
