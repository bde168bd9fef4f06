package testenv

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// S3 test credentials (a private store; not secrets).
const (
	S3AccessKey = "ivsbatch-test"
	S3SecretKey = "ivsbatch-test-secret"
	S3Region    = "us-east-1"
)

// S3Server is a private versitygw with a POSIX backend in a temp dir.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Region    string
	Root      string // backend directory; each bucket is a subdirectory
}

// S3 starts a private versitygw on a free port. Credentials are passed in
// its environment, not on its command line. It is killed when the test ends.
func S3(t testing.TB) S3Server {
	t.Helper()
	bin := LookBin(t, "versitygw")
	port := FreePort(t)
	root := t.TempDir()
	cmd := exec.Command(bin, "--port", "127.0.0.1:"+strconv.Itoa(port), "--quiet", "posix", root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+S3AccessKey, "ROOT_SECRET_ACCESS_KEY="+S3SecretKey,
		"VGW_REGION="+S3Region)
	startProcess(t, "versitygw", cmd)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	WaitPort(t, addr, 20*time.Second, "versitygw")
	return S3Server{Endpoint: "http://" + addr, AccessKey: S3AccessKey, SecretKey: S3SecretKey, Region: S3Region, Root: root}
}
