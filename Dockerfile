# One image with every ivsbatch command (worker, enqueue, ops, ivs-sim, demo,
# healthcheck, and any later cmd/*), built with cgo against libjpeg-turbo and
# libheif and run on Debian bookworm with Debian's runtime libraries and ffmpeg.
#
#   make image                                  # podman or docker, VERSION from git
#   docker build --build-arg VERSION=v1.4.0 -t ivsbatch:v1.4.0 .
#
# The base images are build arguments so that a machine without a registry
# can build this file unchanged on local stand-ins (scripts/image-test.sh).
# With podman, build with --format docker: OCI images drop HEALTHCHECK.
ARG GO_IMAGE=golang:1.26.8-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${GO_IMAGE} AS build
# The -dev packages scripts/deps.sh installs for the cgo media path.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates gcc libc6-dev pkg-config libturbojpeg0-dev libheif-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 GOFLAGS=-buildvcs=false go build -trimpath \
      -ldflags "-s -w -X github.com/ivsbatch/ivsbatch/internal/version.Version=${VERSION}" \
      -o /out/ ./cmd/...

FROM ${RUNTIME_IMAGE}
# Runtime libraries of the cgo build (libturbojpeg0, libheif1 and its
# decoders), ffmpeg/ffprobe for videos, CA roots for https IVS and S3, and
# the time zones CRON_TZ names. Nothing else: no shell tools beyond the base.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates tzdata libturbojpeg0 libheif1 ffmpeg \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ivsbatch \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin ivsbatch \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/ivsbatch
COPY --from=build /out/ /usr/local/bin/
ARG RUNTIME_IMAGE
ARG VERSION=dev
ARG REVISION=
LABEL org.opencontainers.image.title="ivsbatch" \
      org.opencontainers.image.description="Bulk identity verification against Huawei Cloud IVS: worker, enqueue, ops, ivs-sim, demo" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/ivsbatch/ivsbatch" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
# A numeric user, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# The commands' working directory (ops export -o, demo prepare -out): a
# volume mounted here starts owned by the ivsbatch user.
WORKDIR /var/lib/ivsbatch
# The worker's metrics server (IVSBATCH_METRICS_ADDR) must listen beyond
# loopback for Prometheus; /healthz answers when Postgres and Redis do.
ENV IVSBATCH_METRICS_ADDR=0.0.0.0:9090
EXPOSE 9090
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/bin/sh", "-c", "exec healthcheck \"${IVSBATCH_METRICS_ADDR}\""]
CMD ["worker", "run"]
