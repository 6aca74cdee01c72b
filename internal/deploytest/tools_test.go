package deploytest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// kubeVersion is the Kubernetes version the chart is rendered and linted
// for. Passing it explicitly keeps the result independent of how helm was
// built (a plain `go install` of helm assumes Kubernetes 1.20, below the
// chart's kubeVersion).
const kubeVersion = "1.33.0"

// toolTimeout bounds every external command: the tools work offline on
// small inputs, so anything longer is a hang.
const toolTimeout = 2 * time.Minute

// repoRoot is the repository's root: two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s: %v", root, err)
	}
	return root
}

func chartDir(t testing.TB) string {
	return filepath.Join(repoRoot(t), "charts", "participant-service")
}

func inCI() bool { return os.Getenv("CI") == "true" }

// tool finds an external command on PATH, in $(go env GOPATH)/bin (where
// .ci/install-tools puts helm and kubeconform) or in /usr/bin (Debian's
// promtool). Missing, it skips the test, or fails it under CI=true.
func tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var dirs []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		for _, d := range filepath.SplitList(gp) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	} else if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	dirs = append(dirs, "/usr/bin", "/usr/local/bin")
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := name + " is not installed: run .ci/install-tools (it installs helm, kubeconform and promtool)"
	if inCI() {
		t.Fatal(msg + " — CI=true, so a missing tool is a failure")
	}
	t.Skip(msg)
	return ""
}

// run executes a command and returns its stdout, stderr and error. It needs
// no *testing.T so that renders can be shared between tests.
func run(dir string, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	// Helm must not pick up a developer's repositories, plugins or cluster.
	home, err := os.MkdirTemp("", "deploytest-helm-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "kubeconfig"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s", toolTimeout)
	}
	return out.String(), errOut.String(), err
}

// mustRun is run that fails the test on a non-zero exit.
func mustRun(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	out, errOut, err := run(dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, out, errOut)
	}
	return out
}
