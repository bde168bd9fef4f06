package ivs

import (
	"fmt"
	"os"
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
)

// ConfigFromEnv builds client options from the environment (getenv is
// os.Getenv in production). Secrets come only from here, never from flags:
//
//	IVS_ENDPOINT, IVS_IAM_ENDPOINT, IVS_REGION, IVS_PROJECT_ID,
//	IVS_ENTERPRISE_PROJECT_ID, IVS_TIMEOUT (a Go duration),
//	IVS_AK / IVS_SK (or IVS_AK_FILE / IVS_SK_FILE) for AK/SK signing,
//	IVS_IAM_DOMAIN, IVS_IAM_USER, IVS_IAM_PASSWORD (or IVS_IAM_PASSWORD_FILE)
//	for IAM password tokens, used when IVS_IAM_USER is set.
func ConfigFromEnv(getenv func(string) string) ([]Option, error) {
	var opts []Option
	for _, kv := range []struct {
		name string
		opt  func(string) Option
	}{{"IVS_ENDPOINT", WithEndpoint}, {"IVS_IAM_ENDPOINT", WithIAMEndpoint}} {
		u, err := envconf.URL(getenv, kv.name, "", "http", "https")
		if err != nil {
			return nil, err
		}
		if u != "" {
			opts = append(opts, kv.opt(u))
		}
	}
	for _, kv := range []struct {
		name string
		opt  func(string) Option
	}{
		{"IVS_REGION", WithRegion}, {"IVS_PROJECT_ID", WithProjectID}, {"IVS_ENTERPRISE_PROJECT_ID", WithEnterpriseProjectID},
	} {
		if v := envconf.String(getenv, kv.name, ""); v != "" {
			opts = append(opts, kv.opt(v))
		}
	}
	timeout, err := envconf.PositiveDuration(getenv, "IVS_TIMEOUT", DefaultTimeout)
	if err != nil {
		return nil, err
	}
	opts = append(opts, WithTimeout(timeout))
	if user := getenv("IVS_IAM_USER"); user != "" {
		pw, err := secret(getenv, "IVS_IAM_PASSWORD")
		if err != nil {
			return nil, err
		}
		return append(opts, WithPassword(PasswordAuth{Domain: getenv("IVS_IAM_DOMAIN"), User: user, Password: pw,
			Project: getenv("IVS_REGION")})), nil
	}
	ak, err := secret(getenv, "IVS_AK")
	if err != nil {
		return nil, err
	}
	sk, err := secret(getenv, "IVS_SK")
	if err != nil {
		return nil, err
	}
	if ak == "" || sk == "" {
		return nil, fmt.Errorf("ivs: no credentials: set IVS_AK and IVS_SK (or IVS_AK_FILE, IVS_SK_FILE), or IVS_IAM_USER with IVS_IAM_PASSWORD")
	}
	return append(opts, WithAKSK(ak, sk)), nil
}

// secret reads NAME, or the file named by NAME_FILE (trailing newline trimmed).
func secret(getenv func(string) string, name string) (string, error) {
	if v := getenv(name); v != "" {
		return v, nil
	}
	path := getenv(name + "_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("ivs: read %s_FILE: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
