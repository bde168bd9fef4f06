package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/ivs"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestIVS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	skFile := filepath.Join(dir, "sk")
	if err := os.WriteFile(skFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := IVS(env(map[string]string{"IVS_SIMULATOR": "true"})); err != nil || RequireIVS(c) == nil ||
		c.Endpoint != ivs.DefaultEndpoint {
		t.Fatalf("no credentials: %+v %v; want them missing, the simulator named", c, err)
	}
	c, err := IVS(env(map[string]string{"IVS_AK": "ak", "IVS_SK_FILE": skFile, "IVS_ENDPOINT": "http://127.0.0.1:1"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AK != "ak" || c.SK != "from-file" || c.Endpoint != "http://127.0.0.1:1" || c.Timeout != ivs.DefaultTimeout {
		t.Fatalf("AK/SK from env: %+v", c)
	}
	client, err := ivs.New(c.Options()...)
	if err != nil || client.Endpoint() != "http://127.0.0.1:1" {
		t.Fatalf("client from env: %v", err)
	}
	c, err = IVS(env(map[string]string{"IVS_IAM_USER": "u", "IVS_IAM_PASSWORD": "p", "IVS_IAM_DOMAIN": "d", "IVS_SIMULATOR": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Password == nil || *c.Password != (ivs.PasswordAuth{Domain: "d", User: "u", Password: "p"}) {
		t.Fatalf("token auth: %+v", c.Password)
	}
	if _, err := ivs.New(c.Options()...); err != nil {
		t.Fatalf("token client: %v", err)
	}
	for _, bad := range []struct{ name, value, want string }{
		{"IVS_TIMEOUT", "soon", `IVS_TIMEOUT="soon": want a positive duration with its unit, such as 30s or 2m`},
		{"IVS_TIMEOUT", "0", `IVS_TIMEOUT="0": want a positive duration with its unit, such as 30s or 2m`},
		{"IVS_ENDPOINT", "ivs.cn-north-4.myhuaweicloud.com", `IVS_ENDPOINT="ivs.cn-north-4.myhuaweicloud.com": want a URL (http or https) with a host, such as http://127.0.0.1:1234`},
		{"IVS_IAM_ENDPOINT", "ftp://iam", `IVS_IAM_ENDPOINT="ftp://iam": want a URL (http or https) with a host, such as http://127.0.0.1:1234`},
	} {
		_, err := IVS(env(map[string]string{"IVS_AK": "a", "IVS_SK": "b", "IVS_SIMULATOR": "true", bad.name: bad.value}))
		if err == nil || err.Error() != bad.want {
			t.Errorf("%s=%q: err %v, want %s", bad.name, bad.value, err, bad.want)
		}
	}
	if _, err := IVS(env(map[string]string{"IVS_AK": "a", "IVS_SK_FILE": filepath.Join(dir, "missing"), "IVS_SIMULATOR": "true"})); err == nil {
		t.Fatal("missing secret file: want an error")
	}
}

// The endpoints fail closed: required unless the simulator is named,
// https unless loopback or plain http is allowed explicitly.
func TestIVSEndpointsFailClosed(t *testing.T) {
	t.Parallel()
	creds := map[string]string{"IVS_AK": "a", "IVS_SK": "b"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range creds {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	if c, err := IVS(env(creds)); err != nil || RequireIVS(c) == nil || !strings.Contains(RequireIVS(c).Error(), "IVS_ENDPOINT: not set") {
		t.Errorf("no endpoint: %v, %v; want IVS_ENDPOINT missing", err, RequireIVS(c))
	}
	for _, tc := range []struct {
		env  map[string]string
		want string // "" ok
	}{
		{with("IVS_SIMULATOR", "maybe"), `IVS_SIMULATOR="maybe": want true or false`},
		{with("IVS_ENDPOINT", "https://ivs.cn-north-4.myhuaweicloud.com"), ""},
		{with("IVS_ENDPOINT", "http://127.0.0.1:8090"), ""},
		{with("IVS_ENDPOINT", "http://[::1]:8090"), ""},
		{with("IVS_ENDPOINT", "http://localhost:8090"), ""},
		{with("IVS_ENDPOINT", "http://ivs-sim:8090"), `IVS_ENDPOINT="http://ivs-sim:8090": want an https:// URL`},
		{with("IVS_ENDPOINT", "http://ivs-sim:8090", "IVS_INSECURE_HTTP", "true"), ""},
		{with("IVS_ENDPOINT", "https://ivs", "IVS_IAM_ENDPOINT", "http://iam.example"), `IVS_IAM_ENDPOINT="http://iam.example": want an https:// URL`},
	} {
		_, err := IVS(env(tc.env))
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.want)
		}
	}
}
