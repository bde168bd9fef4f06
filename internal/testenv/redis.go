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
