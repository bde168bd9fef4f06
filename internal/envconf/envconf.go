// Package envconf reads settings from the environment strictly. An unset or
// empty variable takes its default; a set variable that does not parse, or
// is out of range, is an *Error naming the variable, the value and what was
// expected, for example
//
//	IVSBATCH_QUOTA="10/s": want a number of requests per second
//
// so that a command stops on nonsense instead of running with a default the
// operator did not choose. Values are trimmed of surrounding white space.
//
// Every getter takes the lookup function (os.Getenv in production) so that
// tests need not touch the process environment.
package envconf

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lookup returns the value of an environment variable ("" when unset).
type Lookup func(string) string

// Error is a variable whose value cannot be used.
type Error struct {
	Name  string // the variable
	Value string // its value, as set
	Want  string // what is expected, e.g. "a positive whole number of records"
}

func (e *Error) Error() string { return fmt.Sprintf("%s=%q: want %s", e.Name, e.Value, e.Want) }

// value returns the trimmed value of name and whether it is set.
func value(get Lookup, name string) (string, bool) {
	v := strings.TrimSpace(get(name))
	return v, v != ""
}

func of(unit string) string {
	if unit == "" {
		return ""
	}
	return " of " + unit
}

// String returns the value of name, or def when it is unset.
func String(get Lookup, name, def string) string {
	if v, ok := value(get, name); ok {
		return v
	}
	return def
}

// Int returns name as a whole number (any sign), or def when unset. unit
// says what it counts, for the error message ("records"; may be empty).
func Int(get Lookup, name string, def int, unit string) (int, error) {
	return intAtLeast(get, name, def, math.MinInt, "a whole number"+of(unit))
}

// PositiveInt returns name as a whole number ≥ 1, or def when unset.
func PositiveInt(get Lookup, name string, def int, unit string) (int, error) {
	return intAtLeast(get, name, def, 1, "a positive whole number"+of(unit))
}

func intAtLeast(get Lookup, name string, def, lowest int, want string) (int, error) {
	v, ok := value(get, name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lowest {
		return def, &Error{Name: name, Value: v, Want: want}
	}
	return n, nil
}

// Float returns name as a finite number, or def when unset.
func Float(get Lookup, name string, def float64, unit string) (float64, error) {
	return floatAbove(get, name, def, math.Inf(-1), "a number"+of(unit))
}

// PositiveFloat returns name as a finite number > 0, or def when unset.
func PositiveFloat(get Lookup, name string, def float64, unit string) (float64, error) {
	return floatAbove(get, name, def, 0, "a positive number"+of(unit))
}

func floatAbove(get Lookup, name string, def, above float64, want string) (float64, error) {
	v, ok := value(get, name)
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= above {
		return def, &Error{Name: name, Value: v, Want: want}
	}
	return f, nil
}

// Duration returns name as a Go duration ≥ 0 ("720h", "30s", "0"), or def
// when unset.
func Duration(get Lookup, name string, def time.Duration) (time.Duration, error) {
	v, ok := value(get, name)
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return def, &Error{Name: name, Value: v, Want: "a duration ≥ 0 with its unit, such as 720h, 90m, 30s or 0"}
	}
	return d, nil
}

// PositiveDuration returns name as a Go duration > 0 ("30s", "2m"), or def
// when unset.
func PositiveDuration(get Lookup, name string, def time.Duration) (time.Duration, error) {
	v, ok := value(get, name)
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return def, &Error{Name: name, Value: v, Want: "a positive duration with its unit, such as 30s or 2m"}
	}
	return d, nil
}

// Bool returns name as true or false (also 1/0, t/f, TRUE/FALSE), or def
// when unset.
func Bool(get Lookup, name string, def bool) (bool, error) {
	v, ok := value(get, name)
	if !ok {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, &Error{Name: name, Value: v, Want: "true or false"}
	}
	return b, nil
}

// Enum returns name when it is one of allowed (compared exactly), or def
// when unset.
func Enum(get Lookup, name, def string, allowed ...string) (string, error) {
	v, ok := value(get, name)
	if !ok {
		return def, nil
	}
	if !slices.Contains(allowed, v) {
		return def, &Error{Name: name, Value: v, Want: "one of " + strings.Join(allowed, ", ")}
	}
	return v, nil
}

// URL returns name when it is an absolute URL with a host and one of the
// schemes given (any scheme when none is), or def when unset.
func URL(get Lookup, name, def string, schemes ...string) (string, error) {
	v, ok := value(get, name)
	if !ok {
		return def, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (len(schemes) > 0 && !slices.Contains(schemes, u.Scheme)) {
		want := "an absolute URL with a host"
		if len(schemes) > 0 {
			want = "a URL (" + strings.Join(schemes, " or ") + ") with a host, such as " + schemes[0] + "://127.0.0.1:1234"
		}
		// The value may hold a password (postgres://user:pw@host): never print it.
		return def, &Error{Name: name, Value: Redact(v), Want: want}
	}
	return v, nil
}

// Redact hides every password in a connection setting, whatever its form,
// so that an error message can show the rest of the value: the user
// information of a URL (scheme://user:pw@host, also when the URL does not
// parse), password and sslpassword query parameters (?password=pw), and
// password=… in a key=value connection string, quoted ('p w', with \'
// escapes) or not.
func Redact(v string) string {
	if i, j := strings.Index(v, "://"), strings.LastIndex(v, "@"); i >= 0 && j > i {
		if u, err := url.Parse(v); err == nil && u.User != nil {
			if _, set := u.User.Password(); set {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
			v = u.String()
		} else {
			v = v[:i+3] + "xxxxx" + v[j:]
		}
	}
	return secretParam.ReplaceAllString(v, "${1}xxxxx")
}

// secretParam is a password in a query (?password=pw&…) or a key=value
// string (password='p w'): the key and separator, then the value.
var secretParam = regexp.MustCompile(`(?i)((?:^|[\s?&;])(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&;]*)`)

// LogLevel returns name as a slog level (DEBUG, INFO, WARN, ERROR, or
// offsets such as INFO+2), or def when unset.
func LogLevel(get Lookup, name string, def slog.Level) (slog.Level, error) {
	v, ok := value(get, name)
	if !ok {
		return def, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		return def, &Error{Name: name, Value: v, Want: "DEBUG, INFO, WARN or ERROR"}
	}
	return l, nil
}

// HostPort returns name as a listen address host:port (the host may be
// empty, the port a number), or def when unset.
func HostPort(get Lookup, name, def string) (string, error) {
	v, ok := value(get, name)
	if !ok {
		return def, nil
	}
	_, port, err := net.SplitHostPort(v)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return def, &Error{Name: name, Value: v, Want: "host:port, such as 127.0.0.1:9090"}
	}
	return v, nil
}

// Missing is a required setting that is not set (or set only in part):
// Name is the variable (or variables, "IVS_AK/IVS_SK"), Want what to set.
// Commands exit 2 on it, as on *Error.
type Missing struct {
	Name, Want string
}

func (e *Missing) Error() string { return fmt.Sprintf("%s: not set: want %s", e.Name, e.Want) }

// Invalid is a setting, or settings together, that cannot work, in words of
// their own (naming each variable): "IVSBATCH_REDIS_URL and
// IVSBATCH_REDIS_ADDR are both set …". Commands exit 2 on it, as on *Error.
type Invalid struct{ Err error }

func (e *Invalid) Error() string { return e.Err.Error() }
func (e *Invalid) Unwrap() error { return e.Err }
