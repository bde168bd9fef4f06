package e2e_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// TestServerCommand starts the shipped server command as its -h and the
// README say: tokens and accounts made by its subcommands (the token
// printed once, the password read from stdin), run serving /healthz and
// the API with the token, a bad setting exiting 2, SIGTERM exiting 0. It
// logs in to Postgres as a member of the operator role (ops roles), as a
// deployment runs it: its tables are granted to that role.
func TestServerCommand(t *testing.T) {
	t.Parallel()
	bin := buildCommands(t)
	base := cleanEnv()
	r := runCmd(t, bin, base, "server", "-h")
	r.want(t, 0, "usage: server <command>")
	for _, sub := range subcommands(r.stderr) {
		runCmd(t, bin, base, "server", sub, "-h").want(t, 0, "usage: server "+sub, "exit codes: 0 done")
	}
	runCmd(t, bin, base, "server", "-version").want(t, 0, "server ")
	runCmd(t, bin, base, "server", "token-create", "-name", "x", "-role", "root").want(t, 2, `-role: role "root"`)
	runCmd(t, bin, append(base, "IVSBATCH_SERVER_ADDR=0.0.0.0:8080"), "server", "run").want(t, 2, "IVSBATCH_SERVER_ADDR")

	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(3*i), byte(5+i)
	}
	port := strconv.Itoa(testenv.FreePort(t))
	roles := storetest.MakeRoles(t, testenv.PostgresURL(t))
	env := append(base, "IVSBATCH_DATABASE_URL="+roles.URL[store.RoleOperator], "IVSBATCH_REDIS_ADDR="+testenv.Redis(t),
		"IVSBATCH_PII_KEYS=smoke:"+base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index), "IVSBATCH_SERVER_ADDR=127.0.0.1:"+port)

	r = runCmd(t, bin, env, "server", "token-create", "-name", "nightly", "-role", "operator", "-operator", "smoke")
	r.want(t, 0, "shown once")
	token := strings.TrimSpace(r.stdout)
	if !regexp.MustCompile(`^ivsb_[A-Za-z0-9_-]{43}$`).MatchString(token) {
		t.Fatalf("token-create printed %q on stdout, want the token alone", r.stdout)
	}
	if r := runCmd(t, bin, env, "server", "token-list"); strings.Contains(r.stdout, token[5:]) || !strings.Contains(r.stdout, "nightly") {
		t.Fatalf("token-list shows the token or not its name:\n%s", r.stdout)
	}
	add := exec.Command(filepath.Join(bin, "server"), "user-add", "-name", "alice", "-role", "viewer")
	add.Env, add.Stdin = env, strings.NewReader("a long enough password\n")
	if out, err := add.CombinedOutput(); err != nil || !strings.Contains(string(out), `account 1 "alice" (viewer) added`) {
		t.Fatalf("user-add: %v\n%s", err, out)
	}
	runCmd(t, bin, env, "server", "user-list").want(t, 0, "alice")

	cmd := exec.Command(filepath.Join(bin, "server"), "run")
	cmd.Env = env
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-ready:
		if line != "listening on 127.0.0.1:"+port+"\n" {
			t.Fatalf("server run printed %q first\n%s", line, stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("server run did not listen within a minute\n%s", stderr.String())
	}
	base_ := "http://127.0.0.1:" + port
	get := func(path, tok string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base_+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, body := get("/api/v1/batches", token); code != 200 || !strings.Contains(body, `"batches":[]`) {
		t.Errorf("batches with the token: %d %q", code, body)
	}
	if code, _ := get("/api/v1/batches", ""); code != 401 {
		t.Errorf("batches without a token: %d", code)
	}
	if code, body := get("/login", ""); code != 200 || !strings.Contains(body, `name="csrf_token"`) {
		t.Errorf("login page: %d", code)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server run after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Error("server run did not stop on SIGTERM")
	}
	if strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), token) {
		t.Errorf("server log holds a panic or the token:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), `route="GET /api/v1/batches"`) || !strings.Contains(stderr.String(), "caller=token:1") {
		t.Errorf("server log has no request line for the API call:\n%s", stderr.String())
	}
}
