#!/usr/bin/env bash
# make image: builds the ivsbatch image from the Dockerfile with podman or
# docker, whichever is installed, tagged ivsbatch:VERSION and ivsbatch:latest.
#   VERSION   default: git describe (tag, or commit, +dirty)
#   IMAGE     default: ivsbatch
#   BUILD_ARGS extra arguments for the build (e.g. --build-arg GO_IMAGE=…)
# podman builds with --format docker (OCI images drop HEALTHCHECK). Where podman
# needs settings of its own (this machine: runc and fixed ulimits), point
# CONTAINERS_CONF at a containers.conf (scripts/image-test.sh writes one).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
REVISION=${REVISION:-$(git rev-parse HEAD 2>/dev/null || true)}
IMAGE=${IMAGE:-ivsbatch}
args=(--build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" -t "$IMAGE:$VERSION" -t "$IMAGE:latest")
# shellcheck disable=SC2206
extra=(${BUILD_ARGS:-})
if command -v podman >/dev/null; then
  podman build --format docker "${args[@]}" "${extra[@]}" .
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  docker build "${args[@]}" "${extra[@]}" .
else
  echo "image: neither podman nor a running docker engine found (apt-get install podman)" >&2
  exit 1
fi
echo "built $IMAGE:$VERSION" >&2
