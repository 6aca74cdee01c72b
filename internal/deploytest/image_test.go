package deploytest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestImageBuildsWithTheModuleToolchain: the Dockerfile's Go version is
// the toolchain go.mod names (else its go line), the release the
// vulnerability scan (.ci/vulncheck) checks.
func TestImageBuildsWithTheModuleToolchain(t *testing.T) {
	root := repoRoot(t)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^toolchain go(\S+)$`).FindSubmatch(mod)
	if m == nil {
		m = regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	}
	want := string(m[1])
	docker, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	d := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\S+)$`).FindSubmatch(docker)
	if d == nil {
		t.Fatal("the Dockerfile has no ARG GO_VERSION=")
	}
	if got := string(d[1]); got != want {
		t.Errorf("the Dockerfile builds with Go %s; go.mod names %s", got, want)
	}
}
