package ivs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	skFile := filepath.Join(dir, "sk")
	if err := os.WriteFile(skFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	if _, err := ConfigFromEnv(env(nil)); err == nil {
		t.Fatal("no credentials: want an error")
	}
	opts, err := ConfigFromEnv(env(map[string]string{"IVS_AK": "ak", "IVS_SK_FILE": skFile, "IVS_ENDPOINT": "http://127.0.0.1:1"}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if c.signer == nil || c.signer.SK != "from-file" || c.Endpoint() != "http://127.0.0.1:1" {
		t.Fatalf("client from env: signer %+v endpoint %s", c.signer != nil, c.Endpoint())
	}
	opts, err = ConfigFromEnv(env(map[string]string{"IVS_IAM_USER": "u", "IVS_IAM_PASSWORD": "p", "IVS_IAM_DOMAIN": "d"}))
	if err != nil {
		t.Fatal(err)
	}
	if c, err = New(opts...); err != nil || c.tokens == nil {
		t.Fatalf("token client: %v", err)
	}
	for _, bad := range []struct{ name, value, want string }{
		{"IVS_TIMEOUT", "soon", `IVS_TIMEOUT="soon": want a positive duration with its unit, such as 30s or 2m`},
		{"IVS_TIMEOUT", "0", `IVS_TIMEOUT="0": want a positive duration with its unit, such as 30s or 2m`},
		{"IVS_ENDPOINT", "ivs.cn-north-4.myhuaweicloud.com", `IVS_ENDPOINT="ivs.cn-north-4.myhuaweicloud.com": want a URL (http or https) with a host, such as http://127.0.0.1:1234`},
		{"IVS_IAM_ENDPOINT", "ftp://iam", `IVS_IAM_ENDPOINT="ftp://iam": want a URL (http or https) with a host, such as http://127.0.0.1:1234`},
	} {
		_, err := ConfigFromEnv(env(map[string]string{"IVS_AK": "a", "IVS_SK": "b", bad.name: bad.value}))
		if err == nil || err.Error() != bad.want {
			t.Errorf("%s=%q: err %v, want %s", bad.name, bad.value, err, bad.want)
		}
	}
	if _, err := ConfigFromEnv(env(map[string]string{"IVS_AK": "a", "IVS_SK_FILE": filepath.Join(dir, "missing")})); err == nil {
		t.Fatal("missing secret file: want an error")
	}
}
