package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the test Sentinel monitors.
const SentinelMaster = "ivsbatch"

// RedisSentinelSet is a private primary, its replica and a Sentinel
// watching them (quorum 1, a primary is down after 1 s).
type RedisSentinelSet struct {
	Sentinel string // 127.0.0.1:port of the Sentinel
	Primary  string // the first primary's address
	Replica  string // the replica's address (the primary after a failover)
	primary  *exec.Cmd
}

// URL returns the redis-sentinel:// URL of the set.
func (s *RedisSentinelSet) URL() string {
	return "redis-sentinel://" + s.Sentinel + "/0?master=" + SentinelMaster
}

// KillPrimary SIGKILLs the primary; the Sentinel promotes the replica.
func (s *RedisSentinelSet) KillPrimary(t testing.TB) {
	t.Helper()
	if err := s.primary.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("testenv: kill redis primary: %v", err)
	}
}

// WaitFailover waits until the Sentinel names the replica as the primary.
func (s *RedisSentinelSet) WaitFailover(t testing.TB, timeout time.Duration) {
	t.Helper()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Sentinel})
	defer sc.Close()
	deadline := time.Now().Add(timeout)
	for {
		addr, err := sc.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
		if err == nil && len(addr) == 2 && addr[0]+":"+addr[1] == s.Replica {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: no failover to %s after %s (sentinel says %v, %v)", s.Replica, timeout, addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// RedisSentinel starts a primary, a replica of it and a Sentinel (Debian's
// redis-server in sentinel mode), and waits until the Sentinel knows the
// replica, so that killing the primary fails over. Killed when the test ends.
func RedisSentinel(t testing.TB) *RedisSentinelSet {
	t.Helper()
	bin := LookBin(t, "redis-server")
	start := func(name string, args ...string) (*exec.Cmd, string) {
		port := FreePort(t)
		cmd := exec.Command(bin, append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", t.TempDir()}, args...)...)
		startProcess(t, name, cmd)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		WaitPort(t, addr, 10*time.Second, name)
		return cmd, addr
	}
	primary, paddr := start("redis-primary")
	_, raddr := start("redis-replica", "--replicaof", "127.0.0.1", strings.Split(paddr, ":")[1])

	sport := FreePort(t)
	conf := filepath.Join(t.TempDir(), "sentinel.conf") // Sentinel rewrites its config file
	writeFile(t, conf, []byte(fmt.Sprintf(`bind 127.0.0.1
port %d
sentinel monitor %s 127.0.0.1 %s 1
sentinel down-after-milliseconds %[2]s 1000
sentinel failover-timeout %[2]s 10000
sentinel parallel-syncs %[2]s 1
`, sport, SentinelMaster, strings.Split(paddr, ":")[1])))
	startProcess(t, "redis-sentinel", exec.Command(bin, conf, "--sentinel"))
	set := &RedisSentinelSet{Sentinel: "127.0.0.1:" + strconv.Itoa(sport), Primary: paddr, Replica: raddr, primary: primary}
	WaitPort(t, set.Sentinel, 10*time.Second, "redis-sentinel")

	sc := redis.NewSentinelClient(&redis.Options{Addr: set.Sentinel})
	defer sc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		replicas, err := sc.Replicas(context.Background(), SentinelMaster).Result()
		if err == nil && len(replicas) == 1 && replicas[0]["master-link-status"] == "ok" &&
			!strings.Contains(replicas[0]["flags"], "disconnected") {
			return set
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: the Sentinel did not see the replica within 30 s: %v %v", replicas, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
