package envconf_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
)

func env(kv ...string) envconf.Lookup {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// refused checks that err is an *envconf.Error whose one-line message is want.
func refused(t *testing.T, err error, want string) {
	t.Helper()
	var e *envconf.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an *envconf.Error", err)
	}
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
}

func TestUnsetTakesDefault(t *testing.T) {
	get := env("BLANK", "  ")
	for _, name := range []string{"UNSET", "BLANK"} {
		if n, err := envconf.PositiveInt(get, name, 64, ""); n != 64 || err != nil {
			t.Errorf("PositiveInt %s = %d, %v", name, n, err)
		}
		if f, err := envconf.Float(get, name, 10, ""); f != 10 || err != nil {
			t.Errorf("Float %s = %v, %v", name, f, err)
		}
		if d, err := envconf.Duration(get, name, time.Hour); d != time.Hour || err != nil {
			t.Errorf("Duration %s = %v, %v", name, d, err)
		}
		if b, err := envconf.Bool(get, name, true); !b || err != nil {
			t.Errorf("Bool %s = %v, %v", name, b, err)
		}
		if s := envconf.String(get, name, "def"); s != "def" {
			t.Errorf("String %s = %q", name, s)
		}
	}
}

func TestGoodValues(t *testing.T) {
	get := env("N", " 12 ", "NEG", "-3", "F", "2.5", "D", "90m", "Z", "0", "B", "TRUE", "E", "csv",
		"U", "https://ivs.example.com:443/x", "L", "debug", "A", ":9090")
	if n, err := envconf.PositiveInt(get, "N", 1, ""); n != 12 || err != nil {
		t.Errorf("PositiveInt = %d, %v", n, err)
	}
	if n, err := envconf.Int(get, "NEG", 1, ""); n != -3 || err != nil {
		t.Errorf("Int = %d, %v", n, err)
	}
	if f, err := envconf.PositiveFloat(get, "F", 1, ""); f != 2.5 || err != nil {
		t.Errorf("PositiveFloat = %v, %v", f, err)
	}
	if d, err := envconf.Duration(get, "D", 0); d != 90*time.Minute || err != nil {
		t.Errorf("Duration = %v, %v", d, err)
	}
	if d, err := envconf.Duration(get, "Z", time.Hour); d != 0 || err != nil {
		t.Errorf("Duration 0 = %v, %v (0 must be accepted: it turns things off)", d, err)
	}
	if b, err := envconf.Bool(get, "B", false); !b || err != nil {
		t.Errorf("Bool = %v, %v", b, err)
	}
	if s, err := envconf.Enum(get, "E", "jsonl", "csv", "jsonl"); s != "csv" || err != nil {
		t.Errorf("Enum = %q, %v", s, err)
	}
	if s, err := envconf.URL(get, "U", "", "http", "https"); s != "https://ivs.example.com:443/x" || err != nil {
		t.Errorf("URL = %q, %v", s, err)
	}
	if l, err := envconf.LogLevel(get, "L", slog.LevelInfo); l != slog.LevelDebug || err != nil {
		t.Errorf("LogLevel = %v, %v", l, err)
	}
	if a, err := envconf.HostPort(get, "A", ""); a != ":9090" || err != nil {
		t.Errorf("HostPort = %q, %v", a, err)
	}
}

func TestNonsenseIsRefusedWithOneLine(t *testing.T) {
	get := env("QUOTA", "10/s", "CONC", "0", "CONC2", "sixty", "NAN", "NaN", "NEGF", "-1",
		"WIN", "30 days", "NEGD", "-5m", "TRIM", "yes", "FMT", "xlsx", "EP", "ivs.example.com",
		"DB", "postgres://me:hunter2@db:5432/x", "Z", "0", "LVL", "LOUD", "ADDR", "9090")
	_, err := envconf.PositiveFloat(get, "QUOTA", 10, "requests per second")
	refused(t, err, `QUOTA="10/s": want a positive number of requests per second`)
	_, err = envconf.PositiveInt(get, "CONC", 64, "records")
	refused(t, err, `CONC="0": want a positive whole number of records`)
	_, err = envconf.PositiveInt(get, "CONC2", 64, "")
	refused(t, err, `CONC2="sixty": want a positive whole number`)
	_, err = envconf.Float(get, "NAN", 1, "")
	refused(t, err, `NAN="NaN": want a number`)
	_, err = envconf.PositiveFloat(get, "NEGF", 1, "")
	refused(t, err, `NEGF="-1": want a positive number`)
	_, err = envconf.Duration(get, "WIN", time.Hour)
	refused(t, err, `WIN="30 days": want a duration ≥ 0 with its unit, such as 720h, 90m, 30s or 0`)
	_, err = envconf.Duration(get, "NEGD", time.Hour)
	refused(t, err, `NEGD="-5m": want a duration ≥ 0 with its unit, such as 720h, 90m, 30s or 0`)
	_, err = envconf.PositiveDuration(get, "Z", time.Second)
	refused(t, err, `Z="0": want a positive duration with its unit, such as 30s or 2m`)
	_, err = envconf.Bool(get, "TRIM", false)
	refused(t, err, `TRIM="yes": want true or false`)
	_, err = envconf.Enum(get, "FMT", "", "csv", "jsonl")
	refused(t, err, `FMT="xlsx": want one of csv, jsonl`)
	_, err = envconf.URL(get, "EP", "", "http", "https")
	refused(t, err, `EP="ivs.example.com": want a URL (http or https) with a host, such as http://127.0.0.1:1234`)
	_, err = envconf.URL(get, "DB", "", "postgresql")
	refused(t, err, `DB="postgres://me:xxxxx@db:5432/x": want a URL (postgresql) with a host, such as postgresql://127.0.0.1:1234`)
	_, err = envconf.LogLevel(get, "LVL", slog.LevelInfo)
	refused(t, err, `LVL="LOUD": want DEBUG, INFO, WARN or ERROR`)
	_, err = envconf.HostPort(get, "ADDR", "")
	refused(t, err, `ADDR="9090": want host:port, such as 127.0.0.1:9090`)
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://me:hunter2@db/x":        "postgres://me:xxxxx@db/x",
		"postgres://me@db/x":                "postgres://me@db/x",
		"postgres://me:hun%zz@db/x":         "postgres://xxxxx@db/x",
		"host=db password=hunter2 dbname=x": "host=db password=xxxxx dbname=x",
		"http://127.0.0.1:8090":             "http://127.0.0.1:8090",
		// Every form a database URL takes.
		"postgres://db/x?user=me&password=hunter2&sslmode=disable": "postgres://db/x?user=me&password=xxxxx&sslmode=disable",
		"postgres://me@db/x?sslpassword=hunter2":                   "postgres://me@db/x?sslpassword=xxxxx",
		"host=db password='hunter 2' dbname=x":                     "host=db password=xxxxx dbname=x",
		`host=db password='it\'s hunter2' dbname=x`:                "host=db password=xxxxx dbname=x",
		"host=db password = hunter2":                               "host=db password = xxxxx",
		"PASSWORD=hunter2 host=db":                                 "PASSWORD=xxxxx host=db",
		"postgres://me:p@ss:w@rd@db/x":                             "postgres://me:xxxxx@db/x",
	} {
		if got := envconf.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if got := envconf.Redact(in); strings.Contains(got, "hunter") || strings.Contains(got, "rd@") {
			t.Errorf("Redact(%q) = %q keeps the password", in, got)
		}
	}
}
