// Package version holds the build's version, stamped at link time with
// -ldflags "-X github.com/telegive/participant-service/internal/version.Version=v1.2.3".
package version

import "runtime/debug"

// Version is the release this binary was built from.
var Version = "dev"

// String returns Version, or the VCS revision when the binary was built
// without a stamp.
func String() string {
	if Version != "dev" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return Version
}
