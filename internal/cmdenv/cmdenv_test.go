package cmdenv_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

func env(kv map[string]string) envconf.Lookup { return func(k string) string { return kv[k] } }

// ParseEnv reads what a command needs and nothing else, strictly; Keys
// makes the keys required (exit 2, named) before anything connects.
func TestParseEnvReadsWhatIsNeeded(t *testing.T) {
	t.Parallel()
	bad := env(map[string]string{"IVSBATCH_QUOTA": "10/s", "IVSBATCH_PRICE_PER_CALL": "cheap", "USER": "alice"})
	c, err := cmdenv.ParseEnv(bad, cmdenv.Store)
	if err != nil || c.Operator != "alice" || c.DatabaseURL == "" || c.Keyring != nil {
		t.Fatalf("store only, a bad quota and price set: %+v %v; want them ignored", c, err)
	}
	for needs, name := range map[cmdenv.Needs]string{cmdenv.Store | cmdenv.Quota: "IVSBATCH_QUOTA", cmdenv.Price: "IVSBATCH_PRICE_PER_CALL"} {
		var e *envconf.Error
		if _, err := cmdenv.ParseEnv(bad, needs); !errors.As(err, &e) || e.Name != name {
			t.Errorf("needs %b: %v; want an *envconf.Error naming %s", needs, err, name)
		}
	}
	var missing *envconf.Missing
	if _, err := cmdenv.ParseEnv(env(nil), cmdenv.Keys); !errors.As(err, &missing) || missing.Name != "IVSBATCH_PII_KEYS" {
		t.Errorf("keys needed, none set: %v; want *envconf.Missing naming IVSBATCH_PII_KEYS", err)
	}
	if _, err := cmdenv.Open(t.Context(), cmdenv.Config{Needs: cmdenv.Keys, DatabaseURL: "postgres://127.0.0.1:1/x"}); !errors.As(err, &missing) {
		t.Errorf("Open with Keys and no keyring: %v; want *envconf.Missing before connecting", err)
	}
}

// Open builds the store (with the keyring given), Redis and the media
// source from a Config a test writes; a database lacking a migration stops
// it with the SchemaError (exit 3).
func TestOpen(t *testing.T) {
	t.Parallel()
	c, err := cmdenv.ParseEnv(env(map[string]string{"IVSBATCH_REDIS_ADDR": testenv.Redis(t)}), cmdenv.Redis|cmdenv.Objects)
	if err != nil {
		t.Fatal(err)
	}
	c.Needs |= cmdenv.Keys
	c.DatabaseURL, c.Keyring = storetest.URL(t), testenv.Keyring(t)
	e, err := cmdenv.Open(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Store.Keyring() != c.Keyring || e.Objects == nil || e.Preparer != nil {
		t.Errorf("env %+v; want the store with the keyring, the media source, no preparer", e)
	}
	if err := e.Redis.Ping(t.Context()).Err(); err != nil {
		t.Errorf("redis: %v", err)
	}
	if _, err := e.Prevalidator(); err == nil || !strings.Contains(err.Error(), "Preparer") {
		t.Errorf("prevalidator without a preparer: %v", err)
	}
	var se *store.SchemaError
	if _, err := cmdenv.Open(t.Context(), cmdenv.Config{Needs: cmdenv.Store, DatabaseURL: storetest.BehindURL(t)}); !errors.As(err, &se) || se.ExitCode() != 3 {
		t.Errorf("a database one migration behind: %v; want a SchemaError (exit 3)", err)
	}
}
