package participantctl_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
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
