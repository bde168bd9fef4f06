// Package deploy holds no code: its tests check the deployment files beside
// them against the code that ships — docker-compose.yml (loaded by
// compose-go, docker compose's own loader), the Prometheus rules and the
// Grafana dashboard (every series they query is one the worker exports, every
// query parses), and the Kubernetes manifests' settings that must agree with
// the worker's (deploy/k8s; kubeconform validates them in make test).
package deploy
