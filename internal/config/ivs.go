package config

import (
	"net"
	"net/url"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/ivs"
)

// IVS reads the IVS client's settings. Secrets come only from here, never
// from flags:
//
//	IVS_ENDPOINT, IVS_IAM_ENDPOINT, IVS_REGION, IVS_PROJECT_ID,
//	IVS_ENTERPRISE_PROJECT_ID, IVS_TIMEOUT (a Go duration),
//	IVS_AK / IVS_SK (or IVS_AK_FILE / IVS_SK_FILE) for AK/SK signing,
//	IVS_IAM_DOMAIN, IVS_IAM_USER, IVS_IAM_PASSWORD (or IVS_IAM_PASSWORD_FILE)
//	for IAM password tokens, used when IVS_IAM_USER is set.
func IVS(get envconf.Lookup) (ivs.Config, error) {
	var c ivs.Config
	var err error
	if c.Endpoint, c.IAMEndpoint, err = ivsEndpoints(get); err != nil {
		return c, err
	}
	c.Region = envconf.String(get, "IVS_REGION", "")
	c.ProjectID = envconf.String(get, "IVS_PROJECT_ID", "")
	c.EnterpriseProjectID = envconf.String(get, "IVS_ENTERPRISE_PROJECT_ID", "")
	if c.Timeout, err = envconf.PositiveDuration(get, "IVS_TIMEOUT", ivs.DefaultTimeout); err != nil {
		return c, err
	}
	if user := get("IVS_IAM_USER"); user != "" {
		pw, err := secret(get, "IVS_IAM_PASSWORD")
		if err != nil {
			return c, err
		}
		c.Password = &ivs.PasswordAuth{Domain: get("IVS_IAM_DOMAIN"), User: user, Password: pw, Project: get("IVS_REGION")}
		return c, nil
	}
	if c.AK, err = secret(get, "IVS_AK"); err != nil {
		return c, err
	}
	if c.SK, err = secret(get, "IVS_SK"); err != nil {
		return c, err
	}
	return c, nil
}

// ivsEndpoints reads IVS_ENDPOINT and IVS_IAM_ENDPOINT, failing closed:
// IVS_ENDPOINT is empty unless set or IVS_SIMULATOR=true names the local
// simulator (ivs.DefaultEndpoint); RequireIVS refuses it empty. Both must be https:// unless they
// point at loopback or IVS_INSECURE_HTTP=true allows plain http (the
// simulator in docker-compose). Credentials never cross a network in clear
// by default.
func ivsEndpoints(get envconf.Lookup) (endpoint, iam string, err error) {
	simulator, err := envconf.Bool(get, "IVS_SIMULATOR", false)
	if err != nil {
		return "", "", err
	}
	insecure, err := envconf.Bool(get, "IVS_INSECURE_HTTP", false)
	if err != nil {
		return "", "", err
	}
	if endpoint, err = envconf.URL(get, "IVS_ENDPOINT", "", "http", "https"); err != nil {
		return "", "", err
	}
	if iam, err = envconf.URL(get, "IVS_IAM_ENDPOINT", "", "http", "https"); err != nil {
		return "", "", err
	}
	if endpoint == "" && simulator {
		endpoint = ivs.DefaultEndpoint
	}
	for _, kv := range [][2]string{{"IVS_ENDPOINT", endpoint}, {"IVS_IAM_ENDPOINT", iam}} {
		if kv[1] != "" && !insecure && !secureOrLoopback(kv[1]) {
			return "", "", &envconf.Error{Name: kv[0], Value: kv[1],
				Want: "an https:// URL (plain http only to loopback, or with IVS_INSECURE_HTTP=true for a simulator)"}
		}
	}
	return endpoint, iam, nil
}

// secureOrLoopback reports whether u is https, or http to a loopback host.
func secureOrLoopback(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil {
		return false
	}
	if parsed.Scheme == "https" {
		return true
	}
	host := parsed.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RequireIVS is an *envconf.Missing unless c has an endpoint and AK/SK or
// an IAM password: what a command calling IVS checks before it starts.
func RequireIVS(c ivs.Config) error {
	if c.Endpoint == "" {
		return &envconf.Missing{Name: "IVS_ENDPOINT", Want: "the IVS endpoint, such as https://ivs.cn-north-4.myhuaweicloud.com (or IVS_SIMULATOR=true for the local simulator at " + ivs.DefaultEndpoint + ")"}
	}
	if c.Password != nil || (c.AK != "" && c.SK != "") {
		return nil
	}
	return &envconf.Missing{Name: "IVS_AK/IVS_SK", Want: "IVS_AK and IVS_SK (or IVS_AK_FILE, IVS_SK_FILE), or IVS_IAM_USER with IVS_IAM_PASSWORD"}
}
