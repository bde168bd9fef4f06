#!/usr/bin/env bash
# Renders a batch's HTML report (ops report) and takes a PNG screenshot of it
# in headless Chromium:
#   scripts/report-screenshot.sh BATCH_ID OUT.png
# Settings come from the environment like every ops command
# (IVSBATCH_DATABASE_URL …); OPS_QUOTA sets the quota line (default 10) and
# WINDOW_SIZE the page size (default 1280,2000). Installs Debian's chromium
# with apt-get when neither chromium nor chromium-browser is on PATH.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BATCH_ID OUT.png" >&2
  exit 2
fi
batch=$1
out=$2
cd "$(dirname "$0")/.."

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "report-screenshot: installing chromium" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q chromium >/dev/null ||
    { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
  browser=$(command -v chromium)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./cmd/ops report -batch "$batch" -quota "${OPS_QUOTA:-10}" -o "$tmp/report.html"

case "$out" in /*) abs_out=$out ;; *) abs_out=$PWD/$out ;; esac
"$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars --user-data-dir="$tmp/profile" \
  --screenshot="$abs_out" --window-size="${WINDOW_SIZE:-1280,2000}" "file://$tmp/report.html" >"$tmp/chromium.log" 2>&1 ||
  { cat "$tmp/chromium.log" >&2; exit 1; }
[ -s "$abs_out" ] || { echo "report-screenshot: no screenshot written" >&2; cat "$tmp/chromium.log" >&2; exit 1; }
echo "wrote $abs_out" >&2
