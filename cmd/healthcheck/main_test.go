package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// The command as the image runs it: built with the version stamped as the
// Dockerfile stamps it, asked against a live server, a failing one and a
// closed port.
func TestHealthcheckCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "healthcheck")
	build := exec.Command("go", "build", "-ldflags",
		"-X github.com/ivsbatch/ivsbatch/internal/version.Version=v9.8.7-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var unhealthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || unhealthy.Load() {
			http.Error(w, "postgres: down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()

	run := func(args ...string) (int, string) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{srv.URL + "/healthz"}, 0, ""},
		{[]string{"0.0.0.0:" + port}, 0, ""}, // IVSBATCH_METRICS_ADDR's form: /healthz on loopback
		{[]string{":" + port}, 0, ""},
		{[]string{srv.URL + "/other"}, 1, "503 Service Unavailable"},
		{[]string{closedAddr}, 1, "connection refused"},
		{[]string{"ftp://x/y"}, 2, "want http:// or https://"},
		{nil, 2, "missing URL"},
		{[]string{"-version"}, 0, "healthcheck v9.8.7-test\n"},
	} {
		code, out := run(tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("healthcheck %q: exit %d %q, want %d with %q", tc.args, code, out, tc.code, tc.out)
		}
	}
	unhealthy.Store(true)
	if code, out := run(srv.URL + "/healthz"); code != 1 || !strings.Contains(out, "503") {
		t.Errorf("unhealthy server: exit %d %q, want 1 with the status", code, out)
	}
}
