package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
	"github.com/ivsbatch/ivsbatch/webhook"
)

// ops webhooks, built as shipped and run the way its -h says, each under
// its role: the operator adds an endpoint (secret from a file; another
// -generate'd, shown once) and removes one, the reader lists endpoints and
// deliveries, the operator replays; deliveries are made by the webhook
// server as the worker role, to a receiver that verifies each signature
// and answers 500 first. No secret is ever printed after creation.
func TestOpsWebhooksCommands(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/ops")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dbURL, redisAddr := storetest.URL(t), testenv.Redis(t)
	roles := storetest.MakeRoles(t, dbURL)
	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(i+7), byte(200-i)
	}
	env := append(cleanEnv(), "IVSBATCH_REDIS_ADDR="+redisAddr,
		"IVSBATCH_PII_KEYS=hook:"+base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index))
	var outputs []string
	ops := func(role string, stdin string, args ...string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "ops"), append([]string{"webhooks"}, args...)...)
		cmd.Env = append(slices.Clip(env), "IVSBATCH_DATABASE_URL="+roles.URL[role], "USER=alice")
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		_ = cmd.Run()
		r := result{args: args, code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
		outputs = append(outputs, r.stdout+r.stderr)
		return r
	}

	var mu sync.Mutex
	var got []error
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, webhook.Verify([]byte("whsec-from-a-file-0001"), body, r.Header.Get(webhook.SignatureHeader), time.Now(), 0))
		if len(got) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rcv.Close)
	received := func() []error { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }

	secretFile := filepath.Join(t.TempDir(), "hook.secret")
	if err := os.WriteFile(secretFile, []byte("whsec-from-a-file-0001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ops(store.RoleOperator, "", "add", "-url", rcv.URL+"/hook", "-events", "batch.finished",
		"-secret-file", secretFile).want(t, 0, "endpoint 1 added")
	gen := ops(store.RoleOperator, "", "add", "-url", "https://erp.example/ivsbatch", "-events", "all", "-generate")
	gen.want(t, 0, "endpoint 2 added", "secret (shown once): whsec_")
	generated := regexp.MustCompile(`whsec_[A-Za-z0-9_-]+`).FindString(gen.stdout)
	ops(store.RoleOperator, "short\n", "add", "-url", rcv.URL, "-events", "all").want(t, 1, "want at least 16")
	ops(store.RoleOperator, "", "add", "-url", "file:///etc/passwd", "-events", "all").want(t, 2, `scheme "file"`)
	ops(store.RoleOperator, "", "remove", "-id", "2").want(t, 0, "endpoint 2 removed")
	list := ops(store.RoleReader, "", "list")
	list.want(t, 0, rcv.URL+"/hook", "batch.finished")
	if strings.Contains(list.stdout, "erp.example") {
		t.Errorf("a removed endpoint is listed:\n%s", list.stdout)
	}
	ops(store.RoleReader, "", "list", "-all").want(t, 0, "erp.example")

	// A batch finished by the worker role; the worker role's webhook server delivers.
	ctx := t.Context()
	keys, err := config.Keyring(func(name string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, name+"="); ok {
				return v
			}
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	operator := storetest.OpenURL(t, roles.URL[store.RoleOperator], store.WithKeyring(keys))
	worker := storetest.OpenURL(t, roles.URL[store.RoleWorker], store.WithKeyring(keys))
	b, _, err := operator.CreateBatch(ctx, pipeline.Batch{Name: "hooks", ManifestSHA256: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := operator.InsertInputs(ctx, b.ID, []store.NewRecord{{Input: pipeline.Input{Ref: "r1", Line: 2,
		Shape: pipeline.ShapeName, Name: "张伟", IDNumber: "11010119900307803X"}}}); err != nil {
		t.Fatal(err)
	}
	refs, err := worker.ClaimPending(ctx, pipeline.EndpointExtention, 1)
	if err != nil || len(refs) != 1 {
		t.Fatalf("claim: %v %v", refs, err)
	}
	rec, err := worker.Claim(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.Finish(ctx, pipeline.Outcome{RecordID: rec.ID, Generation: rec.Generation, Status: pipeline.StatusFailed,
		ErrorCode: "IVS.0101", CountAttempt: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := worker.SettleBatches(ctx); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	srv := webhook.NewServer(rdb, worker, webhook.Config{AllowPrivate: true, RetryBase: 200 * time.Millisecond,
		Interval: 200 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(sctx) }()
	t.Cleanup(func() { stop(); <-done })

	testenv.Eventually(t, time.Minute, func() bool { return len(received()) == 2 },
		func() string { return fmt.Sprintf("%d deliveries; want 2 (500, then 200)", len(received())) })
	var deliveries result
	testenv.Eventually(t, 30*time.Second, func() bool {
		deliveries = ops(store.RoleReader, "", "deliveries", "-event", "1")
		return strings.Count(deliveries.stdout, "batch.finished") == 2
	}, func() string { return "ops webhooks deliveries:\n" + deliveries.stdout + deliveries.stderr })
	deliveries.want(t, 0, "answered 500", " 200 ")
	first := regexp.MustCompile(`(?m)^(\d+)\s+1\s+batch.finished\s+\d+\s+1\s+1\s+500`).FindStringSubmatch(deliveries.stdout)
	if first == nil {
		t.Fatalf("no first attempt (500) in:\n%s", deliveries.stdout)
	}
	ops(store.RoleOperator, "", "replay", "-delivery", first[1], "-reason", "ERP was down").
		want(t, 0, "event 1 to endpoint 1: queued")
	ops(store.RoleOperator, "", "replay").want(t, 2, "give one of -delivery and -event")
	testenv.Eventually(t, time.Minute, func() bool { return len(received()) == 3 },
		func() string { return fmt.Sprintf("%d deliveries after the replay; want 3", len(received())) })
	for i, err := range received() {
		if err != nil {
			t.Errorf("delivery %d: signature refused: %v", i+1, err)
		}
	}
	audit, err := operator.ListAudit(ctx, "", 20)
	if err != nil {
		t.Fatal(err)
	}
	var commands []string
	for _, a := range audit {
		commands = append(commands, a.Command+"/"+a.Operator)
	}
	for _, want := range []string{"webhooks-add/alice", "webhooks-remove/alice", "webhooks-replay/alice"} {
		if !slices.Contains(commands, want) {
			t.Errorf("audit log %v lacks %s", commands, want)
		}
	}
	all := strings.Join(outputs, "\n")
	if strings.Contains(all, "permission denied") {
		t.Errorf("a command lacked a grant:\n%s", all)
	}
	if n := strings.Count(all, generated); generated == "" || n != 1 || strings.Contains(all, "whsec-from-a-file") {
		t.Errorf("a secret printed after its creation (generated one %d times)", n)
	}
}
