#!/usr/bin/env bash
# make test: installs what is missing, makes sure Postgres answers, then vets,
# checks the alert rules and the Kubernetes manifests, and runs every test
# with the race detector. Tests start their own Redis
# servers, S3 stores (versitygw), IVS simulators and Postgres databases and
# remove them when done; nothing already on the machine is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
eval "$(scripts/services.sh)"
export PATH="$(go env GOPATH)/bin:$PATH"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.run/*'))
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi
go vet ./...
# go mod tidy must leave go.mod and go.sum as they are (no unused or mislabelled requirements).
if ! go mod tidy -diff; then echo "go mod tidy would change go.mod/go.sum (diff above): run go mod tidy"; exit 1; fi
promtool check rules deploy/prometheus/rules.yml
promtool test rules deploy/prometheus/rules_test.yml
scripts/k8s-check.sh
go test -race -count=1 -timeout 40m "$@" ./...
# The pure-Go JPEG path (the -tags purego build: image/jpeg instead of libjpeg-turbo) on the same real files as the
# default build; without -race, which slows Go's pixel loops tenfold and finds nothing the run above does not.
go test -count=1 -tags purego -run 'TestColours|TestDamagePolicy|TestOrientations|TestImages|TestFace' ./media/
# The manifest readers' fuzzers, 8 s each (longer by hand: see ingest/fuzz_test.go). One
# instrumented test binary serves the five (go test -fuzz would link it five times), with
# the corpus cache go test -fuzz uses.
fuzzdir=$(mktemp -d)
trap 'rm -rf "$fuzzdir"' EXIT
go test -c -fuzz '^FuzzCSV$' -o "$fuzzdir/ingest.test" ./ingest/
for target in FuzzCSV FuzzJSONLines FuzzJSONArray FuzzXLSX FuzzDecode; do
  (cd ingest && "$fuzzdir/ingest.test" -test.run '^$' -test.fuzz "^${target}\$" -test.fuzztime 8s \
    -test.fuzzminimizetime 2s -test.fuzzcachedir "$(go env GOCACHE)/fuzz/github.com/ivsbatch/ivsbatch/ingest")
done
