package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// RedisTLSServer is a private redis-server that speaks only TLS and wants a
// client certificate signed by its CA.
type RedisTLSServer struct {
	Addr     string // 127.0.0.1:port (TLS)
	CAFile   string // PEM: the CA that signed the server's and the client's certificates
	CertFile string // PEM: a client certificate
	KeyFile  string // PEM: its key
}

// URL returns the rediss:// URL of the server.
func (s RedisTLSServer) URL() string { return "rediss://" + s.Addr + "/0" }

// RedisTLS starts a redis-server with TLS only (its plain port off) and
// client certificates required. The certificates are made here with
// crypto/x509: a CA, a server certificate for 127.0.0.1 and localhost, and
// a client certificate. It is killed when the test ends.
func RedisTLS(t testing.TB) RedisTLSServer {
	t.Helper()
	bin := LookBin(t, "redis-server")
	dir := t.TempDir()
	ca, caKey := newCA(t)
	files := map[string][2][]byte{
		"ca":     {pemCert(ca.Raw), nil},
		"server": leafCert(t, ca, caKey, "redis-server", x509.ExtKeyUsageServerAuth),
		"client": leafCert(t, ca, caKey, "ivsbatch-test", x509.ExtKeyUsageClientAuth),
	}
	for name, f := range files {
		writeFile(t, filepath.Join(dir, name+".crt"), f[0])
		if f[1] != nil {
			writeFile(t, filepath.Join(dir, name+".key"), f[1])
		}
	}
	port := FreePort(t)
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", "0", "--tls-port", strconv.Itoa(port),
		"--tls-cert-file", filepath.Join(dir, "server.crt"), "--tls-key-file", filepath.Join(dir, "server.key"),
		"--tls-ca-cert-file", filepath.Join(dir, "ca.crt"), "--tls-auth-clients", "yes",
		"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", dir)
	startProcess(t, "redis-server-tls", cmd)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	WaitPort(t, addr, 10*time.Second, "redis-server (TLS)")
	return RedisTLSServer{Addr: addr, CAFile: filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, "client.crt"), KeyFile: filepath.Join(dir, "client.key")}
}

func newCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testenv: CA key: %v", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ivsbatch test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testenv: CA certificate: %v", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

// leafCert returns a certificate (for 127.0.0.1 and localhost) signed by ca
// and its key, both PEM.
func leafCert(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, usage x509.ExtKeyUsage) [2][]byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testenv: key: %v", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("testenv: certificate %s: %v", cn, err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return [2][]byte{pemCert(der), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})}
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}
