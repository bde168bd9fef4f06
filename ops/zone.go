package ops

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// LoadZone returns the time zone called name (an IANA name such as
// Asia/Shanghai, or UTC). "" and "Local" are the machine's zone, named as
// the system names it (TZ from getenv, else the zone /etc/localtime links
// to) so that exports can say which zone their times are in; when no name
// can be found it is time.Local ("Local").
func LoadZone(name string, getenv func(string) string) (*time.Location, error) {
	if name != "" && name != "Local" {
		loc, err := time.LoadLocation(name)
		if err != nil {
			return nil, fmt.Errorf("time zone %q: want an IANA name such as Asia/Shanghai or UTC: %w", name, err)
		}
		return loc, nil
	}
	if tz := strings.TrimPrefix(getenv("TZ"), ":"); tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc, nil
		}
		return time.Local, nil
	}
	if target, err := filepath.EvalSymlinks("/etc/localtime"); err == nil {
		if _, zone, ok := strings.Cut(target, "zoneinfo/"); ok {
			if loc, err := time.LoadLocation(zone); err == nil {
				return loc, nil
			}
		}
	}
	return time.Local, nil
}
