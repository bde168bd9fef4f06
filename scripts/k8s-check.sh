#!/usr/bin/env bash
# Renders the Kubernetes manifests (kustomize build deploy/k8s) and validates
# them with kubeconform -strict against JSON schemas made here: kubeconform's
# default schema registry is on GitHub, which these machines cannot reach, so
# deploy/k8s/schemagen writes them from what the Go module proxy serves — the
# OpenAPI document of Kubernetes $K8S_VERSION (module k8s.io/kubernetes) and
# prometheus-operator's ServiceMonitor CRD — once per version, under
# .run/k8s-schemas. A copy with a misspelt field must then be refused, so the
# schemas are known to be strict. make test runs this (scripts/deps.sh
# installs kustomize and kubeconform).
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_VERSION=v1.37.2            # the Kubernetes release the manifests are validated for
PROMETHEUS_OPERATOR=v0.85.0    # the ServiceMonitor CRD's
GOBIN=$(go env GOPATH)/bin
export PATH="$GOBIN:$PATH"
out=.run/k8s
schemas=.run/k8s-schemas/$K8S_VERSION-$PROMETHEUS_OPERATOR
mkdir -p "$out"

kustomize build deploy/k8s >"$out/rendered.yaml"
# The kinds the manifests use, as GROUP/VERSION/KIND (kustomize writes
# apiVersion and kind at the start of each document's top level).
mapfile -t kinds < <(awk '/^apiVersion: /{v=$2} /^kind: /{print v "/" $2}' "$out/rendered.yaml" | sort -u)

moddir() { # module@version: its directory in the module cache (downloaded if missing)
  (cd / && GOFLAGS= GO111MODULE=on go mod download -json "$1") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
missing=0
for k in "${kinds[@]}"; do
  kind=${k##*/} gv=${k%/*}
  group=${gv%/*} version=${gv##*/}
  [ "$group" = "$gv" ] && group=""
  suffix=-$version
  [ -n "$group" ] && suffix=-${group%%.*}-$version
  [ -s "$schemas/${kind,,}$suffix.json" ] || missing=1
done
if [ "$missing" = 1 ]; then
  k8s=$(moddir "k8s.io/kubernetes@$K8S_VERSION")
  promop=$(moddir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR")
  [ -n "$k8s" ] && [ -n "$promop" ] || { echo "k8s-check: module download failed" >&2; exit 1; }
  go run ./deploy/k8s/schemagen -swagger "$k8s/api/openapi-spec/swagger.json" \
    -crd "$promop/jsonnet/prometheus-operator/servicemonitors-crd.json" -out "$schemas" "${kinds[@]}"
fi

validate() {
  kubeconform -strict -summary -schema-location "$schemas/{{.ResourceKind}}{{.KindSuffix}}.json" "$@"
}
validate "$out/rendered.yaml"
# The schemas must refuse what Kubernetes would: a misspelt field, a string
# where a number goes.
sed 's/terminationGracePeriodSeconds:/terminationGracePeriodSecond:/' "$out/rendered.yaml" >"$out/broken.yaml"
if validate "$out/broken.yaml" >/dev/null 2>&1; then
  echo "k8s-check: kubeconform accepted a misspelt field: the schemas are not strict" >&2
  exit 1
fi
sed 's/replicas: 2/replicas: two/' "$out/rendered.yaml" >"$out/broken.yaml"
if validate "$out/broken.yaml" >/dev/null 2>&1; then
  echo "k8s-check: kubeconform accepted replicas: two" >&2
  exit 1
fi
echo "k8s-check: ${#kinds[@]} kinds valid for Kubernetes $K8S_VERSION; misspelt fields refused"
