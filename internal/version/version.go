// Package version is the version of the ivsbatch build, printed by every
// command's -version. Release builds stamp it (the image build does):
//
//	go build -ldflags "-X github.com/ivsbatch/ivsbatch/internal/version.Version=v1.4.0" ./cmd/...
//
// Unstamped builds report the VCS revision Go recorded, or "dev".
package version

import "runtime/debug"

// Version is set at link time; empty in an unstamped build.
var Version string

// String is the build's version: the stamped one, else the VCS revision
// (with "+dirty" for a modified tree), else "dev".
func String() string {
	if Version != "" {
		return Version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return "dev"
	}
	return rev + dirty
}
