package participantctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telegive/participant-service/internal/participantctl"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// rulesCall sends a rules request to the deployment and returns the
// rules' hash it answers with.
func (d *deployment) rulesCall(method string, giveawayID int64, body any) (int, string) {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			d.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, fmt.Sprintf("%s/api/participants/%d/rules", d.url(), giveawayID), rd)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		RulesSHA256 string `json:"rules_sha256"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		d.t.Fatalf("%s rules of %d: %d %s", method, giveawayID, resp.StatusCode, raw)
	}
	return resp.StatusCode, out.RulesSHA256
}

// TestV2RulesAgainstTheService: rules set through PUT before a giveaway's
// first registration are committed as the rules_sha256 GET serves, in the
// record and its commit entry, and verify-draw and the monitor accept the
// drawn record; a giveaway without rules commits none.
func TestV2RulesAgainstTheService(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t, backend)
			ctx := context.Background()
			const withRules, without = 21, 22
			status, set := d.rulesCall("PUT", withRules, map[string]any{"max_tickets": 4, "recheck_at_draw": false})
			if status != http.StatusOK || len(set) != 64 {
				t.Fatalf("PUT rules: %d, hash %q", status, set)
			}
			for gid, n := range map[int64]int64{withRules: 5, without: 3} {
				for u := int64(1); u <= n; u++ {
					d.enter(d.c, gid, 100*gid+u)
				}
				if _, err := d.c.SelectWinners(ctx, gid, client.SelectRequest{WinnerCount: 2}); err != nil {
					t.Fatalf("select-winners %d: %v", gid, err)
				}
			}
			status, served := d.rulesCall("GET", withRules, nil)
			if status != http.StatusOK || served != set {
				t.Fatalf("GET rules: %d, hash %s; PUT answered %s", status, served, set)
			}
			rec, err := d.c.Draw(ctx, withRules)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status != draw.StatusDrawn || rec.RulesSHA256 == nil || rec.RulesSHA256.String() != served || rec.MaxTickets != 4 {
				t.Fatalf("the record commits rules %v, max_tickets %d; GET /rules serves %s", rec.RulesSHA256, rec.MaxTickets, served)
			}
			if commit := string(d.logEntryOf(withRules, drawlog.TypeCommit).Data); !strings.Contains(commit, `"max_tickets":4,`) ||
				!strings.Contains(commit, `"rules_sha256":"`+served+`"`) {
				t.Fatalf("the commit entry does not hold the rules: %s", commit)
			}
			if commit := string(d.logEntryOf(without, drawlog.TypeCommit).Data); !strings.Contains(commit, `"max_tickets":1,`) ||
				!strings.Contains(commit, `"rules_sha256":null`) {
				t.Fatalf("the commit entry of a giveaway without rules: %s", commit)
			}
			d.covered()

			code, out, errOut := d.verify(withRules, true, "--entrants", "server")
			if code != participantctl.ExitOK || !strings.Contains(out, "  rules        sha256 "+served+" ") {
				t.Fatalf("verify-draw of the giveaway with rules: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			code, out, errOut = d.verify(without, true, "--entrants", "server")
			if code != participantctl.ExitOK || !strings.Contains(out, "  rules        none committed (rules_sha256 is null)\n") {
				t.Fatalf("verify-draw of the giveaway without rules: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			d.mustMonitor(filepath.Join(t.TempDir(), "monitor.json"))
		})
	}
}
