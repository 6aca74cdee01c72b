package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cli"
	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/draw"
)

// drawnService serves a giveaway with 25 entrants and 3 winners.
func drawnService(t *testing.T) (url string, rec draw.Record) {
	t.Helper()
	ctx := context.Background()
	st := testenv.OpenStore(t, "sqlite")
	svc := participant.NewService(st, nil, nil, participant.Options{})
	for u := int64(1); u <= 25; u++ {
		if err := st.CompleteCaptcha(ctx, u*1000+7, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: 3, UserID: u*1000 + 7}); err != nil {
			t.Fatal(err)
		}
	}
	sel, err := svc.SelectWinners(ctx, 3, participant.SelectRequest{WinnerCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{Service: svc, Health: health.New(time.Second)})
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, sel.Record
}

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

func TestVerifyDrawFromTheService(t *testing.T) {
	url, rec := drawnService(t)
	winner := rec.Winners[0].UserID
	code, out, errOut := run(t, "", "verify-draw", "--giveaway", "3", "--entrants", "server", "--proof", "1007,"+itoa(winner), url)
	if code != cli.ExitOK || !strings.Contains(out, "verified: giveaway 3, 25 entrants, 3 winners") ||
		!strings.Contains(out, "ok  entrants (root of 25 ids recomputed)") || !strings.Contains(out, "winner: true") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if code, _, _ := run(t, "", "verify-draw", "--giveaway", "99", url); code != cli.ExitUnusable {
		t.Fatalf("a missing draw must exit %d, got %d", cli.ExitUnusable, code)
	}
}

// TestVerifyDrawNamesTheFailedCheck tampers with a record file in each way
// an operator could and expects the matching check to fail.
func TestVerifyDrawNamesTheFailedCheck(t *testing.T) {
	_, rec := drawnService(t)
	var entrants []string
	for u := int64(1); u <= 25; u++ {
		entrants = append(entrants, itoa(u*1000+7))
	}
	dir := t.TempDir()
	list := filepath.Join(dir, "entrants.txt")
	if err := os.WriteFile(list, []byte(strings.Join(entrants, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(r draw.Record) string {
		b, err := json.Marshal(map[string]any{"success": true, "draw": r})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "record.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if code, out, _ := run(t, "", "verify-draw", "--entrants", list, write(rec)); code != cli.ExitOK {
		t.Fatalf("the untouched record must verify: %s", out)
	}
	tamper := []struct {
		name, check string
		withList    bool
		mutate      func(r *draw.Record)
	}{
		{"seed", "commitment", true, func(r *draw.Record) { r.ServerSeed[0] ^= 1 }},
		{"root with the list", "entrants", true, func(r *draw.Record) { r.EntrantsRoot[5] ^= 1 }},
		{"root alone", "draw_seed", false, func(r *draw.Record) { r.EntrantsRoot[5] ^= 1 }},
		{"count", "entrants", true, func(r *draw.Record) { r.EntrantsCount-- }},
		{"winner order", "winners", false, func(r *draw.Record) {
			r.Winners[0].Index, r.Winners[1].Index = r.Winners[1].Index, r.Winners[0].Index
		}},
	}
	for _, c := range tamper {
		t.Run(c.name, func(t *testing.T) {
			r := rec
			r.ServerSeed = append(draw.HexBytes(nil), rec.ServerSeed...)
			r.Winners = append([]draw.Pick(nil), rec.Winners...)
			c.mutate(&r)
			args := []string{"verify-draw", write(r)}
			if c.withList {
				args = []string{"verify-draw", "--entrants", list, write(r)}
			}
			code, out, _ := run(t, "", args...)
			if code != cli.ExitFailed || !strings.HasPrefix(out, "FAILED "+c.check+":") {
				t.Fatalf("exit %d, want FAILED %s: %s", code, c.check, out)
			}
		})
	}
	// A winner swapped for another entrant is caught with the entrant list.
	r := rec
	r.Winners = append([]draw.Pick(nil), rec.Winners...)
	r.Winners[0].UserID = 25007
	if r.Winners[0].UserID == rec.Winners[0].UserID {
		r.Winners[0].UserID = 24007
	}
	if code, out, _ := run(t, "", "verify-draw", "--entrants", list, write(r)); code != cli.ExitFailed || !strings.Contains(out, "FAILED winners") {
		t.Fatalf("swapped winner: exit %d %s", code, out)
	}
	// From stdin, and unreadable input.
	b, _ := json.Marshal(rec)
	if code, out, _ := run(t, string(b), "verify-draw", "-"); code != cli.ExitOK {
		t.Fatalf("stdin: %s", out)
	}
	if code, _, _ := run(t, "", "verify-draw", filepath.Join(dir, "missing.json")); code != cli.ExitUnusable {
		t.Fatalf("missing file exit %d", code)
	}
	if code, _, _ := run(t, "", "verify-draw"); code != cli.ExitUsage {
		t.Fatalf("no source exit %d", code)
	}
	if code, _, _ := run(t, "", "verify-draw", "--help"); code != cli.ExitOK {
		t.Fatalf("--help exit %d", code)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
