package deploy_test

import (
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// workerShutdownTimeout is the worker's default shutdown timeout (worker
// run -shutdown-timeout): the container's stop grace must exceed it.
const workerShutdownTimeout = 45 * time.Second

// loadCompose loads docker-compose.yml as docker compose does (schema
// validation, interpolation, extension fields and anchors, merges), with
// every profile active.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"../docker-compose.yml"}, cli.WithWorkingDirectory(".."),
		cli.WithName("ivsbatch"), cli.WithProfiles([]string{"*"}), cli.WithEnv([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// The compose stack as the README promises it: the project's image for the
// simulator, the one-shot migration, the worker and the tools; the
// migration before any worker; healthchecks and depends_on conditions;
// credentials only as mounted files; third-party images pinned; ports on
// loopback only; the worker's stop grace longer than its shutdown timeout.
func TestComposeStack(t *testing.T) {
	p := loadCompose(t)
	svc := func(name string) types.ServiceConfig {
		t.Helper()
		s, err := p.GetService(name)
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		return s
	}
	ours := []string{"migrate", "ivs-sim", "worker", "tools"}
	for _, name := range ours {
		s := svc(name)
		if s.Build == nil || !strings.HasPrefix(s.Image, "ivsbatch:") {
			t.Errorf("%s: image %q build %v, want the project's image built from the Dockerfile", name, s.Image, s.Build)
		}
	}
	for _, s := range p.Services {
		if slices.Contains(ours, s.Name) {
			continue
		}
		if tag := s.Image[strings.LastIndex(s.Image, ":")+1:]; !strings.Contains(s.Image, ":") || tag == "latest" {
			t.Errorf("%s: image %q is not pinned to a release", s.Name, s.Image)
		}
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s on %q, want 127.0.0.1 only", s.Name, port.Published, port.HostIP)
			}
		}
	}

	migrate := svc("migrate")
	if !slices.Equal(migrate.Command, types.ShellCommand{"ops", "migrate"}) || migrate.Restart != "no" {
		t.Errorf("migrate: command %q restart %q, want a one-shot that migrates", migrate.Command, migrate.Restart)
	}
	wantDeps(t, migrate, map[string]string{"postgres": "service_healthy", "redis": "service_healthy"})
	worker := svc("worker")
	wantDeps(t, worker, map[string]string{"migrate": "service_completed_successfully", "ivs-sim": "service_healthy"})
	wantDeps(t, svc("tools"), map[string]string{"migrate": "service_completed_successfully"})
	wantDeps(t, svc("grafana"), map[string]string{"prometheus": "service_healthy"})
	if worker.StopGracePeriod == nil || time.Duration(*worker.StopGracePeriod) <= workerShutdownTimeout {
		t.Errorf("worker: stop_grace_period %v, want longer than the shutdown timeout %s", worker.StopGracePeriod, workerShutdownTimeout)
	}
	for _, name := range []string{"postgres", "redis", "ivs-sim", "worker", "prometheus", "alertmanager", "grafana"} {
		if hc := svc(name).HealthCheck; hc == nil || hc.Disable || len(hc.Test) < 2 {
			t.Errorf("%s: no healthcheck", name)
		}
	}
	if hc := worker.HealthCheck; hc != nil && !slices.Contains(hc.Test, "healthcheck") {
		t.Errorf("worker healthcheck %q, want the image's healthcheck command", hc.Test)
	}
	if m := svc("asynqmon"); m.Image != "hibiken/asynqmon:0.7.2" {
		t.Errorf("asynqmon %q: the compatibility with go.mod's asynq was checked for 0.7.2 (README)", m.Image)
	}
	if gomod, err := os.ReadFile("../go.mod"); err != nil || !regexp.MustCompile(`hibiken/asynq v0\.26\.`).Match(gomod) {
		t.Errorf("go.mod's asynq is no longer v0.26.x (%v): check asynqmon's pin (its go.mod's asynq, the Redis layout) and update this test", err)
	}

	// Secrets: every *_FILE variable names a secret mounted in that
	// service, and no credential is a plain value (but the demo S3 store's
	// own root key, documented in the file).
	secretEnv := regexp.MustCompile(`(SECRET|PASSWORD|_SK$|_KEYS?$|_INDEX_KEY$|TOKEN)`)
	for _, s := range p.Services {
		for name, v := range s.Environment {
			if v == nil {
				continue
			}
			if strings.HasSuffix(name, "_FILE") {
				secret, ok := strings.CutPrefix(*v, "/run/secrets/")
				if !ok || !slices.ContainsFunc(s.Secrets, func(c types.ServiceSecretConfig) bool { return c.Source == secret }) {
					t.Errorf("%s: %s=%s is not one of the service's mounted secrets", s.Name, name, *v)
				}
				if _, ok := p.Secrets[secret]; ok && p.Secrets[secret].File == "" {
					t.Errorf("secret %s is not a file", secret)
				}
				continue
			}
			if secretEnv.MatchString(name) && !(s.Name == "s3" && name == "ROOT_SECRET_ACCESS_KEY") {
				t.Errorf("%s: %s is a credential given as a value; use %s_FILE and a secret", s.Name, name, name)
			}
			if u, err := url.Parse(*v); err == nil && u.User != nil {
				if _, ok := u.User.Password(); ok {
					t.Errorf("%s: %s carries a password in its URL", s.Name, name)
				}
			}
		}
	}
	for name, sec := range p.Secrets {
		if !strings.Contains(sec.File, "/.run/compose/secrets/") {
			t.Errorf("secret %s comes from %q, want a file scripts/compose-secrets.sh writes", name, sec.File)
		}
	}
	// The files the services mount exist.
	for _, f := range []string{"prometheus/prometheus.yml", "prometheus/rules.yml", "alertmanager/alertmanager.yml",
		"grafana/provisioning/datasources/prometheus.yml", "grafana/provisioning/dashboards/ivsbatch.yml",
		"grafana/dashboards/ivsbatch.json"} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}

func wantDeps(t *testing.T, s types.ServiceConfig, want map[string]string) {
	t.Helper()
	for dep, cond := range want {
		if got, ok := s.DependsOn[dep]; !ok || got.Condition != cond {
			t.Errorf("%s depends on %s with %q, want %q", s.Name, dep, got.Condition, cond)
		}
	}
}
