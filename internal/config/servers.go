package config

import (
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/media"
	"github.com/ivsbatch/ivsbatch/media/tool"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// DefaultDatabaseURL is used when IVSBATCH_DATABASE_URL is not set.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/ivsbatch?sslmode=disable"

// DatabaseURL returns IVSBATCH_DATABASE_URL or the local default. A value
// pgx cannot read (neither a postgres:// URL nor a key=value connection
// string) is an *envconf.Error naming the variable, its password hidden.
func DatabaseURL(get envconf.Lookup) (string, error) {
	u := envconf.String(get, "IVSBATCH_DATABASE_URL", DefaultDatabaseURL)
	if _, err := pgconn.ParseConfig(u); err != nil {
		return "", &envconf.Error{Name: "IVSBATCH_DATABASE_URL", Value: envconf.Redact(u),
			Want: "a postgres:// URL or a key=value connection string, such as " + DefaultDatabaseURL}
	}
	return u, nil
}

// ObjStore reads object storage: IVSBATCH_S3_ENDPOINT (default
// objstore.DefaultEndpoint), AWS_REGION (default us-east-1),
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY_FILE,
// read by objstore.New), IVSBATCH_MEDIA_ROOT and IVSBATCH_S3_BUCKETS
// (checked by objstore.New). Path-style addressing is on.
func ObjStore(get envconf.Lookup) objstore.Config {
	return objstore.Config{
		Endpoint:  envconf.String(get, "IVSBATCH_S3_ENDPOINT", objstore.DefaultEndpoint),
		Region:    envconf.String(get, "AWS_REGION", objstore.DefaultRegion),
		AccessKey: get("AWS_ACCESS_KEY_ID"),
		SecretKey: get("AWS_SECRET_ACCESS_KEY"),
		PathStyle: true,
		// A mounted secret; New reads it (AWS_SECRET_ACCESS_KEY wins).
		SecretKeyFile: get("AWS_SECRET_ACCESS_KEY_FILE"),
		MediaRoot:     get(objstore.EnvMediaRoot),
		Buckets:       list(get(objstore.EnvBuckets)),
	}
}

// list splits a comma-separated value, dropping empty items.
func list(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// KeepPictures reads IVSBATCH_KEEP_PICTURES: where workers keep the
// liveness pictures of video verdicts (s3://bucket/prefix or file://…;
// "" drops them). Every command reading media denies it as a source.
func KeepPictures(get envconf.Lookup) (string, error) {
	return envconf.URL(get, "IVSBATCH_KEEP_PICTURES", "", "s3", "file")
}

// Media reads the media preparer's settings: IVSBATCH_TRIM_VIDEO (cut
// videos over 15 s instead of rejecting them), IVSBATCH_MEDIA_CONCURRENCY
// (a whole number ≥ 1; unset for the default) and IVSBATCH_MEDIA_SANDBOX
// ("landlock", the default, or "rlimits").
func Media(get envconf.Lookup) (media.Config, error) {
	var c media.Config
	var err error
	if c.TrimVideo, err = envconf.Bool(get, "IVSBATCH_TRIM_VIDEO", false); err != nil {
		return c, err
	}
	if c.MaxConcurrent, err = envconf.PositiveInt(get, media.ConcurrencyEnv, 0, "media preparations at once, at least 1"); err != nil {
		return c, err
	}
	sandbox, err := envconf.Enum(get, media.SandboxEnv, "", string(tool.Landlock), string(tool.RlimitsOnly))
	if err != nil {
		return c, err
	}
	c.Tools.Sandbox = tool.Sandbox(sandbox)
	return c, nil
}

// Policy reads the retry table: pipeline.DefaultPolicy with
// IVSBATCH_RETRY_RULES and IVSBATCH_MAX_ATTEMPTS (1 to 100) applied.
func Policy(get envconf.Lookup) (pipeline.Policy, error) {
	p := pipeline.DefaultPolicy()
	if v := envconf.String(get, "IVSBATCH_RETRY_RULES", ""); v != "" {
		if err := p.ParseRules(v); err != nil {
			return p, &envconf.Error{Name: "IVSBATCH_RETRY_RULES", Value: v, Want: err.Error()}
		}
	}
	n, err := envconf.PositiveInt(get, "IVSBATCH_MAX_ATTEMPTS", p.MaxAttempts, "attempts, at most 100")
	if err != nil || n > 100 {
		return p, &envconf.Error{Name: "IVSBATCH_MAX_ATTEMPTS", Value: get("IVSBATCH_MAX_ATTEMPTS"), Want: "a whole number from 1 to 100"}
	}
	p.MaxAttempts = n
	return p, nil
}

// Quota reads IVSBATCH_QUOTA (default 10): the account's requests per
// second per endpoint; 0 or less means no limit. It is parsed here only.
func Quota(get envconf.Lookup) (float64, error) {
	return envconf.Float(get, ops.EnvQuota, ops.DefaultQuota, "requests per second per endpoint (e.g. 10; 0 for no limit)")
}

// Price reads IVSBATCH_PRICE_PER_CALL: an amount and an optional currency
// ("0.3 CNY"). Unset is the zero Price (costs are given in calls).
func Price(get envconf.Lookup) (ops.Price, error) {
	const name = "IVSBATCH_PRICE_PER_CALL"
	v := strings.TrimSpace(get(name))
	if v == "" {
		return ops.Price{}, nil
	}
	amount, currency, _ := strings.Cut(v, " ")
	a, err := strconv.ParseFloat(amount, 64)
	if err != nil || a < 0 || math.IsNaN(a) || math.IsInf(a, 0) {
		return ops.Price{}, &envconf.Error{Name: name, Value: v, Want: "an amount and an optional currency, such as 0.3 CNY"}
	}
	return ops.Price{Amount: a, Currency: strings.TrimSpace(currency)}, nil
}

// Operator is who runs an operator's command, for the audit log: $USER,
// or "unknown".
func Operator(get envconf.Lookup) string { return envconf.String(get, "USER", "unknown") }

// MediaSource is ObjStore for a command that reads media (worker, enqueue
// submit, ops prevalidate): the kept-pictures location (KeepPictures) is
// denied as a source, so a kept face is never read back as media.
func MediaSource(get envconf.Lookup) (objstore.Config, error) {
	c := ObjStore(get)
	WarnAnyBucket(slog.Default(), c)
	keep, err := KeepPictures(get)
	if err != nil {
		return c, err
	}
	if keep != "" {
		c.DenyPrefixes = append(c.DenyPrefixes, keep)
	}
	return c, nil
}

// WarnAnyBucket logs a warning when c lets media come from any bucket
// (IVSBATCH_S3_BUCKETS=*): allowed, but every bucket the credentials reach
// is then a media source.
func WarnAnyBucket(log *slog.Logger, c objstore.Config) {
	if len(c.Buckets) == 1 && c.Buckets[0] == objstore.AnyBucket {
		log.Warn("IVSBATCH_S3_BUCKETS=*: media may come from any bucket these credentials can read; list the buckets instead")
	}
}
