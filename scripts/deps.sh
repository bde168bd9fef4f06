#!/usr/bin/env bash
# Installs what a fresh Debian machine with Go lacks: ffmpeg/ffprobe,
# libturbojpeg (cgo JPEG path), Postgres and Redis servers (only when no
# server binary is present), and at pinned versions versitygw (the
# S3-compatible store), kustomize and kubeconform (the Kubernetes manifests,
# scripts/k8s-check.sh). Idempotent and quiet when everything is there.
# (make image-test installs podman, mmdebstrap and runc itself.)
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
KUSTOMIZE_VERSION=v5.8.2   # v5.8.3 needs a newer Go than go.mod's
KUBECONFORM_VERSION=v0.8.0
GOBIN=$(go env GOPATH)/bin

need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei) # Chinese in the console's screenshots
[ -e /usr/include/turbojpeg.h ] || need+=(libturbojpeg0-dev)
# media: libheif (HEIC/AVIF, cgo), and the encoders the media tests make fixtures with.
[ -n "$(ls /usr/include/*/libheif/heif.h /usr/include/libheif/heif.h 2>/dev/null)" ] || need+=(libheif-dev)
command -v heif-enc >/dev/null || need+=(libheif-examples)
command -v cjpeg >/dev/null && command -v djpeg >/dev/null || need+=(libjpeg-turbo-progs)
command -v tiffcp >/dev/null && command -v tiffinfo >/dev/null || need+=(libtiff-tools) # multi-page LZW TIFFs for media tests
command -v prlimit >/dev/null || need+=(util-linux) # sets the rlimits of every ffmpeg run (media/tool)
command -v redis-server >/dev/null || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v postgres >/dev/null || need+=(postgresql)
command -v pg_isready >/dev/null && command -v pg_dump >/dev/null || need+=(postgresql-client)
command -v python3 >/dev/null || need+=(python3) # ops tests read exported .xlsx back with zipfile + XML
command -v promtool >/dev/null || need+=(prometheus) # promtool: alert rules checked and unit-tested by make test

if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "${need[@]}" >/dev/null ||
    { $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null &&
      $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "${need[@]}" >/dev/null; }
fi

if ! go version -m "$GOBIN/versitygw" 2>/dev/null | grep -q "mod.*versitygw.*$VERSITYGW_VERSION"; then
  echo "deps: go install versitygw@$VERSITYGW_VERSION" >&2
  go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi

# go install of a pinned version, unless $GOBIN/name is that version already.
install_pinned() { # name module-path package@version
  if ! go version -m "$GOBIN/$1" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+$2[[:space:]]+${3##*@}([[:space:]]|$)"; then
    echo "deps: go install $3" >&2
    go install "$3"
  fi
}
install_pinned kustomize sigs.k8s.io/kustomize/kustomize/v5 "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
install_pinned kubeconform github.com/yannh/kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
