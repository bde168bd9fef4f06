package testenv

import (
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Redis starts a private redis-server (no persistence, noeviction, as the
// queue needs) on a free port and returns its address. It is killed when
// the test ends.
func Redis(t testing.TB) string {
	t.Helper()
	bin := LookBin(t, "redis-server")
	port := FreePort(t)
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", t.TempDir())
	startProcess(t, "redis-server", cmd)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	WaitPort(t, addr, 10*time.Second, "redis-server")
	return addr
}

// RedisProc is a private redis-server that a test can restart.
type RedisProc struct {
	Addr string
	t    testing.TB
	cmd  *exec.Cmd
	args []string
}

// RedisRestartable starts a private redis-server like Redis does, and lets
// the test kill it and start it again, empty, on the same port.
func RedisRestartable(t testing.TB) *RedisProc {
	t.Helper()
	port := FreePort(t)
	r := &RedisProc{Addr: "127.0.0.1:" + strconv.Itoa(port), t: t,
		args: []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", t.TempDir()}}
	r.start()
	return r
}

func (r *RedisProc) start() {
	r.t.Helper()
	r.cmd = startProcess(r.t, "redis-server", exec.Command(LookBin(r.t, "redis-server"), r.args...))
	WaitPort(r.t, r.Addr, 10*time.Second, "redis-server")
}

// Restart SIGKILLs the server and starts a new one on the same port: every
// key is gone, as after a restart without persistence.
func (r *RedisProc) Restart() {
	r.t.Helper()
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.start()
}
