package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/ivssim/ivssimtest"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/synth/tag"
)

// The shipped commands, built as shipped and started the way their -h and
// the README say: every program and subcommand answers -h with its usage and
// exit 0; mistakes exit 2 with the usage; an unreachable server is one line
// and exit 1; a bad setting is one line naming it and exit 2; with servers
// they start cleanly; the simulator serves with no flags. No output may hold
// a Go panic or goroutine dump.
func TestCommandsStart(t *testing.T) {
	bin := buildCommands(t)
	base := cleanEnv()

	t.Run("help", func(t *testing.T) {
		for _, prog := range []string{"demo", "enqueue", "worker", "ops"} {
			r := runCmd(t, bin, base, prog, "-h")
			r.want(t, 0, "usage: "+prog+" <command>")
			subs := subcommands(r.stderr)
			if len(subs) < 2 {
				t.Fatalf("%s -h lists no subcommands:\n%s", prog, r.stderr)
			}
			for _, sub := range subs {
				runCmd(t, bin, base, prog, sub, "-h").want(t, 0, "usage: "+prog+" "+sub, "exit codes: 0 done")
			}
			runCmd(t, bin, base, prog).want(t, 2, "usage: "+prog+" <command>")
			runCmd(t, bin, base, prog, "no-such-command").want(t, 2, `unknown command "no-such-command"`)
		}
		runCmd(t, bin, base, "ivs-sim", "-h").want(t, 0, "Usage: ivs-sim [flags]", "-registry")
		for _, prog := range []string{"demo", "enqueue", "worker", "ops", "ivs-sim", "healthcheck"} {
			runCmd(t, bin, base, prog, "-version").want(t, 0, prog+" ") // the image's labels carry the same version
		}
		runCmd(t, bin, base, "healthcheck", "-h").want(t, 0, "usage: healthcheck [flags] URL|HOST:PORT")
		runCmd(t, bin, base, "ivs-sim", "stray").want(t, 2, `unexpected argument "stray"`)
		runCmd(t, bin, base, "ivs-sim", "-rate-500", "2").want(t, 2, "Rate500 2 is outside [0, 1]")
		runCmd(t, bin, base, "worker", "run", "-concurrency", "-1").want(t, 2, "-concurrency -1: want at least 1, or 0 for the default")
		runCmd(t, bin, base, "worker", "run", "-queues", "ivs-fast").want(t, 2, `-queues: unknown queue "ivs-fast"`)
		runCmd(t, bin, base, "enqueue", "submit").want(t, 2, "missing MANIFEST")
		runCmd(t, bin, base, "ops", "budget", "-batch", "x").want(t, 2, `invalid value "x" for flag -batch`)
		runCmd(t, bin, base, "ops", "budget", "-batch", "1", "-max", "-3").want(t, 2, "-max -3: want 0 or more")
		runCmd(t, bin, base, "ops", "export", "-o", "-", "-batch").want(t, 2, "flag needs an argument: -batch")
	})

	t.Run("servers unreachable", func(t *testing.T) {
		env := append(append(base, "IVSBATCH_DATABASE_URL=postgres://postgres@127.0.0.1:"+strconv.Itoa(testenv.FreePort(t))+"/x?sslmode=disable",
			"IVSBATCH_REDIS_ADDR=127.0.0.1:"+strconv.Itoa(testenv.FreePort(t))), smokeKeys()...)
		for _, args := range [][]string{
			{"enqueue", "status", "-batch", "1"}, {"enqueue", "submit", "m.csv"}, {"enqueue", "rekey"},
			{"worker", "status"}, {"worker", "resume"},
			{"ops", "status"}, {"ops", "reconcile"}, {"ops", "budget", "-batch", "1"},
			{"ops", "batches"}, {"ops", "find", "-ref", "r1"}, {"ops", "review"}, {"ops", "pause", "-batch", "1"},
			{"demo", "ensure-db"}, {"demo", "report", "-batch", "1"}, {"demo", "ledger"},
		} {
			r := runCmd(t, bin, env, args...)
			r.want(t, 1, args[0]+": ")
			r.oneLine(t)
		}
	})

	t.Run("bad settings", func(t *testing.T) {
		r := runCmd(t, bin, append(base, "IVSBATCH_QUOTA=10/s"), "worker", "run")
		r.want(t, 2, `worker: IVSBATCH_QUOTA="10/s": want a number of requests per second`)
		r.oneLine(t)
		r = runCmd(t, bin, append(base, "IVSBATCH_QUEUES=standard"), "worker", "run")
		r.want(t, 2, `worker: IVSBATCH_QUEUES="standard": want a comma-separated list of ivs-standard, ivs-extention`)
		r.oneLine(t)
		r = runCmd(t, bin, append(base, "IVSBATCH_DEDUP_WINDOW=30 days"), "worker", "run")
		r.want(t, 2, `worker: IVSBATCH_DEDUP_WINDOW="30 days": want a duration`)
		r.oneLine(t)
		// What is missing is a configuration error too, found before any server is asked.
		r = runCmd(t, bin, base, "worker", "run")
		r.want(t, 2, `worker: IVSBATCH_PII_KEYS: not set: want keys for personal data`)
		r.oneLine(t)
		r = runCmd(t, bin, append(base, smokeKeys()...), "worker", "run")
		r.want(t, 2, `worker: IVS_ENDPOINT: not set: want the IVS endpoint`)
		r.oneLine(t)
		r = runCmd(t, bin, append(base, append(smokeKeys(), "IVS_ENDPOINT=https://ivs.example")...), "worker", "run")
		r.want(t, 2, `worker: IVS_AK/IVS_SK: not set: want IVS_AK and IVS_SK`)
		r.oneLine(t)
		// Credentials never go out in clear to another host unless allowed.
		r = runCmd(t, bin, append(base, "IVS_ENDPOINT=http://ivs.example", "IVS_AK=a", "IVS_SK=b"), "worker", "run")
		r.want(t, 2, `worker: IVS_ENDPOINT="http://ivs.example": want an https:// URL`)
		r.oneLine(t)
		r = runCmd(t, bin, append(base, "IVSBATCH_DATABASE_URL=postgres://me:hunter2@db:port/x"), "ops", "status")
		r.want(t, 2, `ops: IVSBATCH_DATABASE_URL="postgres://xxxxx@db:port/x": want a postgres:// URL`)
		r.oneLine(t)
		r = runCmd(t, bin, append(base, "IVS_ENDPOINT=127.0.0.1:8090"), "demo", "ledger")
		r.want(t, 2, `demo: IVS_ENDPOINT="127.0.0.1:8090": want a URL (http or https)`)
		r.oneLine(t)
		if strings.Contains(r.stderr+r.stdout, "hunter2") {
			t.Error("a password in the output")
		}
	})

	t.Run("with servers", func(t *testing.T) {
		t.Parallel()
		env := append(append(base, "IVSBATCH_DATABASE_URL="+testenv.PostgresURL(t)), smokeKeys()...)
		// Postgres up, Redis down: one line, no go-redis pool chatter.
		noRedis := append(env, "IVSBATCH_REDIS_ADDR=127.0.0.1:"+strconv.Itoa(testenv.FreePort(t)),
			"IVS_SIMULATOR=true", "IVS_AK="+simAK, "IVS_SK="+simSK)
		for _, args := range [][]string{{"worker", "status"}, {"ops", "status"}, {"worker", "run"}} {
			r := runCmd(t, bin, noRedis, args...)
			r.want(t, 1, "redis at redis://127.0.0.1:")
			r.oneLine(t)
		}
		env = append(env, "IVSBATCH_REDIS_ADDR="+testenv.Redis(t))
		runCmd(t, bin, env, "demo", "ensure-db").want(t, 0, "")
		runCmd(t, bin, env, "worker", "status").want(t, 0, "")
		if r := runCmd(t, bin, env, "worker", "status"); r.stdout != "running\n" {
			t.Errorf("worker status printed %q, want running", r.stdout)
		}
		runCmd(t, bin, env, "ops", "status").want(t, 0, "")
		runCmd(t, bin, env, "enqueue", "status", "-batch", "4242").want(t, 1, "enqueue: ")
		runCmd(t, bin, env, "enqueue", "submit", "-quiet", "no-such-manifest.csv").want(t, 1, "enqueue: ")
		runCmd(t, bin, env, "ops", "budget", "-batch", "4242").want(t, 1, "ops: ")
		if r := runCmd(t, bin, env, "demo", "freeport"); !regexp.MustCompile(`^\d+\n$`).MatchString(r.stdout) {
			t.Errorf("demo freeport printed %q", r.stdout)
		}
		// worker run starts, serves and stops on SIGTERM with exit 0.
		sim := startSim(t, bin, base, "-registry", "") // as docker-compose.yml starts it before demo prepare
		// Unset, its handlers, window and connections follow the quota
		// (worker.DefaultConcurrency, README "Sizing"): IVSBATCH_QUOTA's
		// default of 10, then a -quota given alone.
		withSim := append(env, "IVS_ENDPOINT="+sim, "IVS_AK="+simAK, "IVS_SK="+simSK, "IVSBATCH_METRICS_ADDR=127.0.0.1:0")
		r := runUntilSignal(t, bin, withSim, "worker running", "worker", "run")
		r.want(t, 0, "worker running", "quota=10 concurrency=20 window=200", "db_conns=9")
		r = runUntilSignal(t, bin, withSim, "worker running", "worker", "run", "-quota", "-1")
		r.want(t, 0, "worker running", "quota=-1 concurrency=320 window=1280", "db_conns=20")
		small, sep := testenv.PostgresURL(t), "?"
		if strings.Contains(small, "?") {
			sep = "&"
		}
		r = runUntilSignal(t, bin, append(withSim, "IVSBATCH_CONCURRENCY=24", "IVSBATCH_DATABASE_URL="+small+sep+"pool_max_conns=5"),
			"worker running", "worker", "run", "-quota", "200")
		r.want(t, 0, "worker running", "quota=200 concurrency=24 window=200", "db_conns=5")
	})

	t.Run("ivs-sim with no flags", func(t *testing.T) {
		t.Parallel()
		url := startSim(t, bin, base)
		c, err := ivs.New(ivs.WithEndpoint(url), ivs.WithAKSK(simAK, simSK))
		if err != nil {
			t.Fatal(err)
		}
		b64 := base64.StdEncoding.EncodeToString
		face, front := b64(ivssimtest.FaceJPEG(t, 1)), b64(ivssimtest.CardJPEG(t, tag.KindIDCardFront, 1))
		video := b64(ivssimtest.Video(t, 1, []int{1, 3}, 2*time.Second))
		const id = "11010519491231002X" // valid GB 11643; nobody exists without a registry
		for i, shape := range pipeline.Shapes {
			it := ivs.Item{}
			if shape.UsesText() {
				it.VerificationName, it.VerificationID = "张三", id
			}
			if shape.UsesCard() {
				it.IDCardImage1 = front
			}
			if shape.UsesFaceImage() {
				it.FaceImage = face
			}
			if shape.UsesVideo() {
				it.Video, it.Actions = video, "1,3"
			}
			resp, err := c.Do(context.Background(), ivs.Request{Shape: shape, UUID: "smoke-" + strconv.Itoa(i), Item: it})
			if shape.UsesText() {
				// The person does not exist: a billed 200 with 3001.
				if err != nil || resp.HTTPStatus != 200 || resp.Result.VerificationCode != 3001 || resp.Result.VerificationResult != "nonexistent" {
					t.Errorf("%s: %+v, %v; want 200 3001 nonexistent", shape, resp, err)
				}
				continue
			}
			// Nobody's card can be read: IVS.0007, typed, not billed.
			var e *ivs.Error
			if !errors.As(err, &e) || e.Code != "IVS.0007" || e.Status != 400 {
				t.Errorf("%s: %v; want a 400 IVS.0007 (no registry: the card cannot be read)", shape, err)
			}
		}
	})
}

// smokeKeys are IVSBATCH_PII_KEYS and IVSBATCH_PII_INDEX_KEY for the
// smoke tests (not secrets).
func smokeKeys() []string {
	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(i), byte(7+i)
	}
	return []string{"IVSBATCH_PII_KEYS=smoke:" + base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY=" + base64.StdEncoding.EncodeToString(index)}
}

// buildCommands builds every command under cmd/ as shipped.
func buildCommands(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/...")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/...: %v\n%s", err, out)
	}
	for _, name := range []string{"demo", "enqueue", "worker", "ops", "ivs-sim"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			t.Fatalf("command %s not built: %v", name, err)
		}
	}
	return bin
}

// cleanEnv is the test's environment without any ivsbatch or IVS setting,
// so that every command runs on its documented defaults.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IVSBATCH_") && !strings.HasPrefix(kv, "IVS_") && !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// subcommands reads the command names from a usage text's "commands:" list.
func subcommands(usage string) []string {
	_, list, _ := strings.Cut(usage, "commands:\n")
	var names []string
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		names = append(names, strings.Fields(line)[0])
	}
	return names
}

type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func runCmd(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, args[0]), args[1:]...)
	cmd.Env, cmd.Dir = env, t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%q: %v", args, err)
	}
	return result{args: args, code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// want checks the exit code, that stdout+stderr hold each of texts, and
// that nothing panicked.
func (r result) want(t *testing.T, code int, texts ...string) {
	t.Helper()
	out := r.stdout + r.stderr
	if r.code != code {
		t.Errorf("%q: exit %d, want %d\n%s", r.args, r.code, code, out)
	}
	for _, s := range texts {
		if !strings.Contains(out, s) {
			t.Errorf("%q: output lacks %q:\n%s", r.args, s, out)
		}
	}
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
		t.Errorf("%q: a Go panic or goroutine dump:\n%s", r.args, out)
	}
	for _, line := range strings.Split(r.stderr, "\n") {
		if p := repeatedPrefix(line); p != "" {
			t.Errorf("%q: %q repeats its prefix %q", r.args, line, p)
		}
	}
}

// repeatedPrefix returns a one-word "prefix:" that occurs twice in an error
// line (store: store: …), or "".
func repeatedPrefix(line string) string {
	seen := map[string]bool{}
	for _, part := range strings.Split(line, ": ") {
		if part == "" || strings.ContainsAny(part, " \t`\"") {
			continue
		}
		if seen[part] {
			return part
		}
		seen[part] = true
	}
	return ""
}

// oneLine checks that the command said what went wrong in one line.
func (r result) oneLine(t *testing.T) {
	t.Helper()
	if n := strings.Count(strings.TrimSpace(r.stderr+r.stdout), "\n"); n > 0 {
		t.Errorf("%q: %d lines, want one:\n%s%s", r.args, n+1, r.stdout, r.stderr)
	}
}

// startSim runs ivs-sim with no flag but a free -addr (and args), as the
// README's "Running the simulator" does without a registry, and returns its
// URL.
func startSim(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	cmd := exec.Command(filepath.Join(bin, "ivs-sim"), append([]string{"-addr", addr}, args...)...)
	cmd.Env = env
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("ivs-sim after SIGTERM: %v\n%s", err, out.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("ivs-sim did not stop on SIGTERM")
		}
		if s := out.String(); strings.Contains(s, "panic:") || strings.Contains(s, "goroutine ") || !strings.Contains(s, "people=0") {
			t.Errorf("ivs-sim output:\n%s", s)
		}
	})
	testenv.WaitPort(t, addr, 20*time.Second, "ivs-sim")
	return "http://" + addr
}

// runUntilSignal starts a long-running command, waits until its output
// holds ready, sends SIGTERM and returns how it ended.
func runUntilSignal(t *testing.T, bin string, env []string, ready string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
	cmd.Env = env
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String()+stderr.String(), ready) {
		select {
		case <-exited:
			t.Fatalf("%q exited before %q:\n%s%s", args, ready, stdout.String(), stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("%q never printed %q:\n%s%s", args, ready, stdout.String(), stderr.String())
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Errorf("%q did not stop on SIGTERM", args)
	}
	return result{args: args, code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}
