package deploytest_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
)

// TestStaticBinary builds the service as the Dockerfile does (its build
// flags are read from the Dockerfile) and checks what the distroless image
// relies on: a static executable with no dynamic loader, no build-machine
// paths, the version stamped in, and a process that starts with nothing
// but DATABASE_URL in its environment, writes nothing to its working
// directory (the root filesystem is read-only) and stops cleanly on
// SIGTERM.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	root := repoRoot(t)
	docker, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ldflags := regexp.MustCompile(`ldflags="([^"]+)"`).FindSubmatch(docker)
	build := regexp.MustCompile(`go build ((?:-[a-z]+(?:=\S+)? )+)-ldflags`).FindSubmatch(docker)
	if ldflags == nil || build == nil || !bytes.Contains(docker, []byte("CGO_ENABLED=0")) {
		t.Fatal("the Dockerfile's build command is not the one this test knows (CGO_ENABLED=0 go build <flags> -ldflags \"$ldflags\")")
	}
	const stamp, commit = "v0.0.0-image-test", "0123456789abcdef0123456789abcdef01234567"
	flags := strings.NewReplacer("${VERSION}", stamp, "${REVISION}", commit).Replace(string(ldflags[1]))
	bin := filepath.Join(t.TempDir(), "participant-service")
	args := append([]string{"build"}, strings.Fields(string(build[1]))...)
	args = append(args, "-ldflags", flags, "-o", bin, "./cmd/participant-service")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader; distroless/static has none")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v dynamically", libs)
	}
	f.Close()
	image, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(image, []byte(root)) {
		t.Errorf("the binary carries the build machine's path %s (-trimpath missing)", root)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != stamp {
		t.Errorf("version printed %q, %v; want %s", out, err, stamp)
	}

	// Run it as the image would, in an empty directory with an empty
	// environment but for the database and the ports.
	dsn := testenv.PostgresSchema(t)
	port, metrics := freePort(t), freePort(t)
	work := t.TempDir()
	serve := exec.Command(bin, "serve")
	serve.Dir = work
	serve.Env = []string{"DATABASE_URL=" + dsn, fmt.Sprintf("SERVICE_PORT=%d", port),
		fmt.Sprintf("METRICS_PORT=%d", metrics), "LISTEN_HOST=127.0.0.1", "SHUTDOWN_DELAY=0"}
	var logs bytes.Buffer
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() {
		if serve.ProcessState == nil {
			_ = serve.Process.Kill()
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		resp, err := http.Get(base + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("the service exited before it was ready: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("the service was not ready within 20 s\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics))
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `revision="` + commit + `"`; !bytes.Contains(scrape, []byte(want)) || !bytes.Contains(scrape, []byte(`version="`+stamp+`"`)) {
		t.Errorf("participant_build_info does not carry the stamped version and revision")
	}
	resp, err = http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		Version string `json:"version"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if health.Version != stamp {
		t.Errorf("/health reports version %q, want %s", health.Version, stamp)
	}
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM the service exited with %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the service did not stop within 15 s of SIGTERM\n%s", logs.String())
	}
	if entries, _ := os.ReadDir(work); len(entries) > 0 {
		t.Errorf("the service wrote %s into its working directory; the image's root filesystem is read-only", entries[0].Name())
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
