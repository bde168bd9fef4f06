package e2e_test

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// The shipped commands, as an operator runs them: enqueue submit, worker run,
// enqueue status -wait, SIGTERM, each under its least-privilege role
// (operator, worker, reader: ops roles). Settings and secrets come from the
// environment only; the processes' output masks every name and id number.
func TestCommandsEndToEnd(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10})
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/enqueue", "./cmd/worker")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s3 := h.s3
	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(i), byte(100+i)
	}
	env := append(os.Environ(),
		"IVSBATCH_REDIS_ADDR="+h.redis,
		"IVSBATCH_S3_ENDPOINT="+s3.Endpoint, "AWS_ACCESS_KEY_ID="+s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3.SecretKey,
		"AWS_REGION="+s3.Region, "IVSBATCH_S3_BUCKETS="+bucket, "IVS_ENDPOINT="+h.simURL, "IVS_AK="+simAK, "IVS_SK="+simSK,
		"IVSBATCH_PII_KEYS=cli:"+base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index),
		"IVSBATCH_METRICS_ADDR=127.0.0.1:0", "IVSBATCH_LOG_LEVEL=DEBUG")
	output := &syncBuffer{} // the processes write concurrently
	roles := storetest.MakeRoles(t, h.dbURL)
	run := func(ctx context.Context, role string, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, args[0]), args[1:]...)
		cmd.Env = append(slices.Clip(env), "IVSBATCH_DATABASE_URL="+roles.URL[role])
		cmd.Stdout, cmd.Stderr = output, output
		return cmd
	}
	manifest := h.ref("manifests/cli.csv")
	if err := h.objs.Put(h.ctx, manifest, h.pop.ManifestCSV("s3://"+bucket+"/"), "text/csv"); err != nil {
		t.Fatal(err)
	}
	if err := run(h.ctx, store.RoleOperator, "enqueue", "submit", "-quiet", manifest).Run(); err != nil {
		t.Fatalf("enqueue submit: %v\n%s", err, output.String())
	}
	m := regexp.MustCompile(`batch_id=(\d+)`).FindStringSubmatch(output.String())
	if m == nil || !strings.Contains(output.String(), "line 5: id_number") {
		t.Fatalf("submit output lacks the batch id or the refused row:\n%s", output.String())
	}
	worker := run(context.Background(), store.RoleWorker, "worker", "run", "-concurrency", "8", "-window", "20")
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = worker.Process.Kill() })
	status := run(h.ctx, store.RoleReader, "enqueue", "status", "-batch", m[1], "-wait", "-interval", "500ms", "-timeout", "2m")
	if err := status.Run(); err != nil {
		t.Fatalf("enqueue status -wait: %v\n%s", err, output.String())
	}
	if err := worker.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- worker.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("worker exit after SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("worker did not exit after SIGTERM")
	}
	text := output.String()
	if strings.Contains(text, "permission denied") {
		t.Error("a command lacked a grant its role should have (permission denied in the output)")
	}
	for _, want := range []string{"1000 valid", "2001 invalid", "2002 invalid", "3001 nonexistent", "media.not_image", "worker running"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, p := range h.pop.People() {
		for _, secret := range []string{p.IDNumber, p.Name} {
			if strings.Contains(text, secret) {
				t.Errorf("person %d: personal data in clear in the commands' output", p.Index)
			}
		}
	}
	for _, secret := range []string{simSK, s3.SecretKey, base64.StdEncoding.EncodeToString(key)} {
		if strings.Contains(text, secret) {
			t.Error("a secret appears in the commands' output")
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}
