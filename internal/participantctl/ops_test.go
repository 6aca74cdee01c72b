package participantctl_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/telegive/participant-service/internal/participantctl"
	"github.com/telegive/participant-service/internal/testenv"
)

func TestMigrate(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			args := []string{"--sqlite-path", testenv.SQLitePath(t)}
			if backend == "postgres" {
				args = []string{"--database-url", testenv.PostgresSchema(t)}
			}
			if code, out, _ := run(t, "", append([]string{"migrate", "--dry-run"}, args...)...); code != participantctl.ExitFailed || !strings.Contains(out, "no migrations applied") {
				t.Fatalf("dry run on an empty database: %d %s", code, out)
			}
			if code, out, errOut := run(t, "", append([]string{"migrate"}, args...)...); code != participantctl.ExitOK || !strings.Contains(out, "applied: 20261128000001_initial_schema") {
				t.Fatalf("migrate: %d %s %s", code, out, errOut)
			}
			if code, out, _ := run(t, "", append([]string{"migrate"}, args...)...); code != participantctl.ExitOK || !strings.Contains(out, "nothing to apply") {
				t.Fatalf("second migrate: %d %s", code, out)
			}
			if code, out, _ := run(t, "", append([]string{"migrate", "--dry-run"}, args...)...); code != participantctl.ExitOK || !strings.Contains(out, "current") {
				t.Fatalf("dry run after migrate: %d %s", code, out)
			}
		})
	}
}

// TestMigrateReadsTheServicesDatabaseSettings: without flags, migrate
// applies the schema to the database the service's variables name, read
// and refused as the service reads them.
func TestMigrateReadsTheServicesDatabaseSettings(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			environ := []string{"SQLITE_PATH=" + testenv.SQLitePath(t), "SERVICE_PORT=not-a-port"}
			if backend == "postgres" {
				environ = append(environ, "DATABASE_URL="+testenv.PostgresSchema(t))
			}
			if code, out, errOut := runIn(t, environ, "", "migrate"); code != participantctl.ExitOK || !strings.Contains(out, "applied: 20261128000001_initial_schema") {
				t.Fatalf("migrate: %d %s %s", code, out, errOut)
			}
			if code, out, _ := runIn(t, environ, "", "migrate", "--dry-run"); code != participantctl.ExitOK || !strings.Contains(out, "current") {
				t.Fatalf("dry run after migrate: %d %s", code, out)
			}
		})
	}
	for env, want := range map[string]string{
		"DATABASE_URL=mysql://db/x":   "migrate: DATABASE_URL: must be a postgres:// or postgresql:// URL\n",
		"DATABASE_POOL_SIZE=lots":     `migrate: DATABASE_POOL_SIZE="lots": want a whole number, at least 1` + "\n",
		"DATABASE_READ_TIMEOUT=never": `migrate: DATABASE_READ_TIMEOUT="never": want seconds (a number) or a Go duration such as 90s, above 0` + "\n",
	} {
		if code, _, errOut := runIn(t, []string{env}, "", "migrate"); code != participantctl.ExitUnusable || errOut != want {
			t.Errorf("%s: exit %d, stderr %q, want %d %q", env, code, errOut, participantctl.ExitUnusable, want)
		}
	}
}

// TestClientCommandsSendTheTokenFromTheEnvironment: export, status and
// verify-draw send PARTICIPANT_SERVICE_TOKEN unless --token says otherwise.
func TestClientCommandsSendTheTokenFromTheEnvironment(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("X-Service-Token"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"success": false, "error": "down", "error_code": "SERVICE_UNAVAILABLE"}`))
	}))
	defer srv.Close()
	environ := []string{"PARTICIPANT_SERVICE_TOKEN=from-the-environment"}
	for _, args := range [][]string{
		{"export", "--giveaway", "3", srv.URL},
		{"status", srv.URL},
		{"verify-draw", "--giveaway", "3", srv.URL},
		{"status", "--token", "from-the-flag", srv.URL},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		runIn(t, environ, "", args...)
		want := "from-the-environment"
		if args[1] == "--token" {
			want = "from-the-flag"
		}
		mu.Lock()
		if len(got) == 0 || got[0] != want {
			t.Errorf("%v sent X-Service-Token %q, want %q", args, got, want)
		}
		mu.Unlock()
	}
}

func TestExportAndStatus(t *testing.T) {
	url, rec := drawnService(t)
	file := filepath.Join(t.TempDir(), "entrants.ndjson")
	if code, _, errOut := run(t, "", "export", "--giveaway", "3", "--output", file, url); code != participantctl.ExitOK {
		t.Fatalf("export: %d %s", code, errOut)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines++
	}
	if lines != 25 {
		t.Fatalf("exported %d lines, want 25", lines)
	}
	code, out, _ := run(t, "", "export", "--giveaway", "3", "--format", "csv", url)
	if code != participantctl.ExitOK || !strings.HasPrefix(out, "participant_id,") || strings.Count(out, "\n") != 26 {
		t.Fatalf("csv export: %d %.200s", code, out)
	}
	if code, _, _ := run(t, "", "export", url); code != participantctl.ExitUsage {
		t.Fatalf("export without a giveaway: %d", code)
	}

	code, out, errOut := run(t, "", "status", "--giveaway", "3", url)
	if code != participantctl.ExitOK || !strings.Contains(out, "healthy") ||
		!strings.Contains(out, "giveaway 3: drawn") || !strings.Contains(out, "25 entrants, 3 winners") ||
		!strings.Contains(out, rec.Commitment.String()) {
		t.Fatalf("status: %d\n%s\n%s", code, out, errOut)
	}
	if code, _, _ := run(t, "", "status", "http://127.0.0.1:1"); code != participantctl.ExitUnusable {
		t.Fatalf("status of nothing: %d", code)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, cmd := range []string{"verify-draw", "export", "status", "migrate"} {
		code, _, errOut := run(t, "", cmd, "--help")
		if code != participantctl.ExitOK || !strings.Contains(errOut, "Usage: participantctl "+cmd) {
			t.Errorf("%s --help: %d %q", cmd, code, errOut)
		}
	}
	if code, out, _ := run(t, "", "help"); code != participantctl.ExitOK || !strings.Contains(out, "verify-draw") {
		t.Errorf("help: %d %s", code, out)
	}
	if code, _, _ := run(t, "", "frobnicate"); code != participantctl.ExitUsage {
		t.Errorf("unknown command: %d", code)
	}
}
