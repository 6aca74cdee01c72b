package participantctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/participantctl"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/draw"
)

// drawnService serves a giveaway with 25 entrants and 3 winners.
func drawnService(t *testing.T) (url string, rec draw.Record) {
	t.Helper()
	svc, rec := drawnGiveaway(t)
	return serve(t, svc, nil), rec
}

// drawnGiveaway draws giveaway 3: 25 entrants (user ids 1007, 2007, ...,
// 25007) and 3 winners.
func drawnGiveaway(t *testing.T) (*participant.Service, draw.Record) {
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
	return svc, sel.Record
}

// serve serves svc's API. A non-nil tamper rewrites the draw record the
// API answers with, as a compromised or buggy service would, while every
// other answer (the proofs among them) stays the service's own.
func serve(t *testing.T, svc *participant.Service, tamper func(r *draw.Record)) string {
	t.Helper()
	api := httpapi.New(httpapi.Options{Service: svc, Health: health.New(time.Second)}).Handler()
	h := api
	if tamper != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/draw") {
				api.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, r)
			var body struct {
				Success bool        `json:"success"`
				Draw    draw.Record `json:"draw"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Errorf("draw answer: %v", err)
			}
			tamper(&body.Draw)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body)
		})
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// outsider is a user id that is not among drawnGiveaway's entrants.
const outsider = 1006

// TestVerifyDrawChecksWinnerIdentitiesAgainstTheService verifies from the
// service with no flags: the winners' inclusion proofs are fetched by
// default, so a record whose winner was renamed fails.
func TestVerifyDrawChecksWinnerIdentitiesAgainstTheService(t *testing.T) {
	svc, rec := drawnGiveaway(t)
	code, out, errOut := run(t, "", "verify-draw", "--giveaway", "3", serve(t, svc, nil))
	if code != participantctl.ExitOK || !strings.HasPrefix(out, "verified: giveaway 3, 25 entrants, 3 winners") ||
		!strings.Contains(out, "ok  winner identities (3 user ids, each by its inclusion proof from the service)") ||
		!strings.Contains(out, "not checked  entrants:") {
		t.Fatalf("untouched record: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	renamed := serve(t, svc, func(r *draw.Record) { r.Winners[1].UserID = outsider })
	code, out, errOut = run(t, "", "verify-draw", "--giveaway", "3", renamed)
	want := fmt.Sprintf("FAILED proof: position 2: the inclusion proof of entrant index %d is for user %d, the record names user %d\n",
		rec.Winners[1].Index, rec.Winners[1].UserID, outsider)
	if code != participantctl.ExitFailed || out != want {
		t.Fatalf("renamed winner: exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, participantctl.ExitFailed, out, want, errOut)
	}

	// After a redraw the disqualified winner is no longer among the winner
	// proofs; its proof is fetched by user id.
	gone := rec.Winners[1]
	if _, err := svc.Redraw(context.Background(), 3, participant.RedrawRequest{DisqualifiedUserIDs: []int64{gone.UserID}, Reason: "left"}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, "", "verify-draw", "--giveaway", "3", serve(t, svc, nil))
	if code != participantctl.ExitOK || !strings.Contains(out, "ok  winner identities (4 user ids, each by its inclusion proof from the service)") {
		t.Fatalf("after a redraw: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// Renaming the disqualified winner everywhere keeps the record
	// consistent, but the service has no proof for a user never entered.
	renamed = serve(t, svc, func(r *draw.Record) {
		r.Winners[1].UserID = outsider
		r.Replacements[0].DisqualifiedUserIDs = []int64{outsider}
		r.Replacements[0].Replacements[0].ReplacesUserID = outsider
	})
	code, out, errOut = run(t, "", "verify-draw", "--giveaway", "3", renamed)
	want = fmt.Sprintf("FAILED proof: position 2: user %d at entrant index %d: the service has no inclusion proof of that user, who was not entered in the draw\n",
		outsider, gone.Index)
	if code != participantctl.ExitFailed || out != want {
		t.Fatalf("renamed disqualified winner: exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errOut)
	}
}

// TestVerifyDrawFromAFileSaysWhatItCouldNotCheck verifies a record file
// alone, which cannot show who stands at the winners' entrant indices: the
// verdict must say so and exit ExitPartial, renamed winner or not.
func TestVerifyDrawFromAFileSaysWhatItCouldNotCheck(t *testing.T) {
	_, rec := drawnGiveaway(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "record.json")
	renamed := rec
	renamed.Winners = append([]draw.Pick(nil), rec.Winners...)
	renamed.Winners[1].UserID = outsider
	for name, r := range map[string]draw.Record{"untouched": rec, "renamed winner": renamed} {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"verify-draw", path}, {"verify-draw", "-"}} {
				code, out, errOut := run(t, string(b), args...)
				if code != participantctl.ExitPartial {
					t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, participantctl.ExitPartial, out, errOut)
				}
				if !strings.HasPrefix(out, "NOT FULLY VERIFIED: giveaway 3, 25 entrants, 3 winners, 0 redraw round(s); the winners' user ids could not be checked\n") ||
					!strings.Contains(out, "\n  not checked  winner identities: ") ||
					!strings.Contains(out, fmt.Sprintf("\n               position 2: user %d at entrant index %d\n", r.Winners[1].UserID, r.Winners[1].Index)) ||
					!strings.Contains(out, fmt.Sprintf("  winner 2: user %d (entrant index %d, user id not checked)\n", r.Winners[1].UserID, r.Winners[1].Index)) {
					t.Fatalf("%v: the verdict does not name the unchecked identities:\n%s", args, out)
				}
				for _, line := range strings.Split(out, "\n") {
					if strings.HasPrefix(line, "verified") || strings.Contains(line, "ok  winner identities") {
						t.Fatalf("%v: a record alone was called verified:\n%s", args, out)
					}
				}
			}
		})
	}
	if code, _, errOut := run(t, "", "verify-draw", "--help"); code != participantctl.ExitOK || !strings.Contains(errOut, "4 not fully verified") {
		t.Fatalf("--help exit %d does not describe exit code 4:\n%s", code, errOut)
	}
}

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return runIn(t, nil, stdin, args...)
}

// runIn runs participantctl with the environment environ.
func runIn(t *testing.T, environ []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &participantctl.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Environ: environ}
	code := participantctl.Run(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

func TestVerifyDrawFromTheService(t *testing.T) {
	url, rec := drawnService(t)
	winner := rec.Winners[0].UserID
	code, out, errOut := run(t, "", "verify-draw", "--giveaway", "3", "--entrants", "server", "--proof", "1007,"+itoa(winner), url)
	if code != participantctl.ExitOK || !strings.Contains(out, "verified: giveaway 3, 25 entrants, 3 winners") ||
		!strings.Contains(out, "ok  entrants (root of 25 ids recomputed)") || !strings.Contains(out, "winner: true") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if code, _, _ := run(t, "", "verify-draw", "--giveaway", "99", url); code != participantctl.ExitUnusable {
		t.Fatalf("a missing draw must exit %d, got %d", participantctl.ExitUnusable, code)
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
	if code, out, _ := run(t, "", "verify-draw", "--entrants", list, write(rec)); code != participantctl.ExitOK ||
		!strings.Contains(out, "ok  winner identities (3 user ids, against the entrant list)") || strings.Contains(out, "not checked") {
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
			if code != participantctl.ExitFailed || !strings.HasPrefix(out, "FAILED "+c.check+":") {
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
	if code, out, _ := run(t, "", "verify-draw", "--entrants", list, write(r)); code != participantctl.ExitFailed || !strings.Contains(out, "FAILED winners") {
		t.Fatalf("swapped winner: exit %d %s", code, out)
	}
	// From stdin, and unreadable input.
	b, _ := json.Marshal(rec)
	if code, out, _ := run(t, string(b), "verify-draw", "-"); code != participantctl.ExitPartial {
		t.Fatalf("stdin: %s", out)
	}
	if code, _, _ := run(t, "", "verify-draw", filepath.Join(dir, "missing.json")); code != participantctl.ExitUnusable {
		t.Fatalf("missing file exit %d", code)
	}
	if code, _, _ := run(t, "", "verify-draw"); code != participantctl.ExitUsage {
		t.Fatalf("no source exit %d", code)
	}
	if code, _, _ := run(t, "", "verify-draw", "--help"); code != participantctl.ExitOK {
		t.Fatalf("--help exit %d", code)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
