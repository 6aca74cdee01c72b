// Package version holds the build's version and revision, stamped at link
// time with
// -ldflags "-X github.com/telegive/participant-service/internal/version.Version=v1.2.3
// -X github.com/telegive/participant-service/internal/version.Revision=<commit>".
package version

import "runtime/debug"

// Version is the release this binary was built from.
var Version = "dev"

// Revision is the commit this binary was built from, when stamped.
var Revision = ""

// String returns Version, or the VCS revision when the binary was built
// without a stamp.
func String() string {
	if Version != "dev" {
		return Version
	}
	if r := vcsRevision(); len(r) >= 12 {
		return "dev-" + r[:12]
	}
	return Version
}

// Commit returns the stamped Revision, else the revision the Go toolchain
// recorded from the checkout, else "unknown" (an image built without .git
// and without the stamp).
func Commit() string {
	if Revision != "" {
		return Revision
	}
	if r := vcsRevision(); r != "" {
		return r
	}
	return "unknown"
}

func vcsRevision() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}
