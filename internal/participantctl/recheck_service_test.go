package participantctl_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participantctl"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/upstream/telegramtest"
	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/draw"
)

// The Telegram side of a recheckDeployment: one account whose bot is an
// administrator of the required chat.
const (
	recheckAccount  = 7
	recheckBot      = "7007:bot-token"
	recheckSvcToken = "svc-token"
	recheckChat     = "@telegive_news"
	recheckChatID   = -1001234567890
)

// recheckDeployment is a deployment whose giveaways belong to one account
// and whose rules' chats are asked about through a stand-in Bot API.
type recheckDeployment struct {
	*deployment
	tg *telegramtest.Server
}

func newRecheckDeployment(t *testing.T, backend string) *recheckDeployment {
	t.Helper()
	tg := telegramtest.New(t, recheckBot)
	tg.AddChat(recheckChatID, recheckChat)
	accounts := telegramtest.NewAccounts(t, recheckSvcToken)
	accounts.SetAccount(recheckAccount, telegramtest.Channel{TelegramID: -100777, Username: "prizes", Title: "Prizes"}, recheckBot)
	giveaways := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutPrefix(r.URL.Path, "/api/giveaways/")
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"success": true, "giveaway": {"id": %s, "status": "active", "account_id": %d, "winner_count": 2, "title": "Prize"}}`, id, recheckAccount)
	}))
	t.Cleanup(giveaways.Close)
	d := newDeploymentWith(t, backend,
		"TELEGIVE_GIVEAWAY_URL="+giveaways.URL, "TELEGIVE_CHANNEL_URL="+accounts.URL, "TELEGIVE_AUTH_URL="+accounts.URL,
		"TELEGRAM_API_BASE="+tg.URL, "AUTH_SERVICE_TOKEN="+recheckSvcToken,
		// A Telegram outage is seen at once rather than after retries.
		"UPSTREAM_RETRIES=0", "UPSTREAM_TIMEOUT=1")
	return &recheckDeployment{deployment: d, tg: tg}
}

// open sets rules requiring the chat, with the re-check they default to,
// and enters the users, each a member of the chat.
func (d *recheckDeployment) open(giveawayID int64, users ...int64) {
	d.t.Helper()
	status, set := d.rulesCall("PUT", giveawayID, map[string]any{"required_chats": []string{recheckChat}, "min_account_age_days": 0})
	if status != http.StatusOK || len(set) != 64 {
		d.t.Fatalf("PUT rules of %d: %d, hash %q", giveawayID, status, set)
	}
	for _, u := range users {
		d.tg.SetMember(recheckChat, u, telegramtest.Joined)
	}
	d.enter(d.c, giveawayID, users...)
}

// selectUntilRechecked calls select-winners until the re-check is
// complete, as a caller does while it is pending: one call waits for as
// many redraw rounds as its deadline allows, and the next goes on.
func (d *recheckDeployment) selectUntilRechecked(giveawayID int64, k int) client.Selection {
	d.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		sel, err := d.c.SelectWinners(context.Background(), giveawayID, client.SelectRequest{WinnerCount: k})
		if err != nil {
			d.t.Fatalf("select-winners %d: %v", giveawayID, err)
		}
		if sel.Recheck == nil || sel.Recheck.Status != draw.RecheckPending || time.Now().After(deadline) {
			return sel
		}
		if len(sel.Recheck.Unchecked) > 0 && sel.Recheck.Pending == nil {
			// Telegram could not be asked: another call would not help.
			return sel
		}
	}
}

// rechecksCounted scrapes participant_draw_rechecks_total by outcome.
func (d *recheckDeployment) rechecksCounted() map[string]float64 {
	d.t.Helper()
	resp, err := http.Get("http://" + d.services[0].MetricsAddr() + "/metrics")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), `participant_draw_rechecks_total{outcome="`)
		if !ok {
			continue
		}
		outcome, value, _ := strings.Cut(rest, `"} `)
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			d.t.Fatalf("metric line %q: %v", sc.Text(), err)
		}
		out[outcome] = n
	}
	if err := sc.Err(); err != nil {
		d.t.Fatal(err)
	}
	return out
}

func users(from int64, n int) []int64 {
	var out []int64
	for i := range int64(n) {
		out = append(out, from+i)
	}
	return out
}

// verified runs verify-draw against the service, which must call the
// draw verified, and returns its output.
func (d *recheckDeployment) verified(giveawayID int64) string {
	d.t.Helper()
	d.covered()
	code, out, errOut := d.verify(giveawayID, true, "--entrants", "server")
	if code != participantctl.ExitOK || !strings.Contains(out, fmt.Sprintf("verified: giveaway %d (telegive-draw-v2),", giveawayID)) {
		d.t.Fatalf("verify-draw %d: exit %d\nstdout:\n%s\nstderr:\n%s", giveawayID, code, out, errOut)
	}
	return out
}

// TestRecheckAgainstTheService: the real service re-checks the winners of
// a giveaway whose rules require a chat (recheck_at_draw by default).
// Entrants who left the chat before select-winners are disqualified as
// not_subscribed in redraw rounds until only members win; winners Telegram
// cannot be asked about stay unchecked, which is no failure, and the next
// select-winners call, with Telegram back, disqualifies the one who left
// meanwhile and checks their replacement. Each time verify-draw calls the
// draw verified and prints the rules, the disqualifications with their
// reason and replacement, and the service's re-check statement.
func TestRecheckAgainstTheService(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := newRecheckDeployment(t, backend)
			ctx := context.Background()

			{
				// Left before the draw: two of the five entrants stay; with three winners drawn,
				// at least one who left is among them.
				const gid = 41
				all := users(4100, 5)
				d.open(gid, all...)
				stayed := all[:2]
				for _, u := range all[2:] {
					d.tg.SetMember(recheckChat, u, telegramtest.Left)
				}
				sel := d.selectUntilRechecked(gid, 3)
				rc := sel.Recheck
				if rc == nil || rc.Status != draw.RecheckComplete || rc.Pending != nil || len(rc.Unchecked) != 0 || len(rc.Disqualified) == 0 {
					t.Fatalf("select-winners' recheck: %+v", rc)
				}
				final := slices.Sorted(slices.Values(rc.Final))
				if !slices.Equal(final, stayed) {
					t.Fatalf("final winners %v, want the members %v", rc.Final, stayed)
				}
				rec, err := d.c.Draw(ctx, gid)
				if err != nil {
					t.Fatal(err)
				}
				if len(rec.Replacements) == 0 {
					t.Fatalf("the record has no redraw round: %+v", rec)
				}
				var lines []string
				for _, dq := range rc.Disqualified {
					if dq.Reason != draw.ReasonNotSubscribed || slices.Contains(stayed, dq.UserID) || dq.Round == nil {
						t.Fatalf("disqualified: %+v", dq)
					}
					lines = append(lines, fmt.Sprintf("    disqualified user %d: not subscribed to the required chats [not_subscribed]\n", dq.UserID),
						fmt.Sprintf("  user %d, position %d (", dq.UserID, dq.Position),
						"failed (not subscribed to the required chats [not_subscribed]), checked ")
					if dq.ReplacedBy != nil {
						lines = append(lines, fmt.Sprintf(": user %d replaces user %d,", *dq.ReplacedBy, dq.UserID))
					}
				}
				for _, u := range stayed {
					lines = append(lines, fmt.Sprintf("  user %d, position ", u))
				}
				out := d.verified(gid)
				mustContain(t, out, append(lines, "  rules        sha256 "+rec.RulesSHA256.String()+" ",
					"               required chats: @telegive_news\n",
					"  re-check     the service reports that it re-checked the winners against the rules at the draw",
					"the re-check is complete: the service reports that each of the 2 current winner(s) passed")...)
				if strings.Contains(out, "not re-checked") {
					t.Fatalf("a complete re-check lists winners not re-checked:\n%s", out)
				}
			}

			{
				// Telegram down at the draw.
				const gid = 42
				all := users(4200, 5)
				d.open(gid, all...)
				d.tg.Fail(telegramtest.Server50x(http.StatusBadGateway))
				sel, err := d.c.SelectWinners(ctx, gid, client.SelectRequest{WinnerCount: 2})
				if err != nil {
					t.Fatalf("select-winners with Telegram down: %v", err)
				}
				var winners []int64
				for _, w := range sel.Winners {
					winners = append(winners, w.UserID)
				}
				rc := sel.Recheck
				if rc == nil || rc.Status != draw.RecheckPending || len(rc.Final) != 0 || len(rc.Disqualified) != 0 ||
					!slices.Equal(rc.Unchecked, slices.Sorted(slices.Values(winners))) {
					t.Fatalf("select-winners' recheck with Telegram down (winners %v): %+v", winners, rc)
				}
				out := d.verified(gid)
				mustContain(t, out, "the re-check is not finished (status pending): the winners may still change")
				for _, w := range sel.Winners {
					mustContain(t, out, fmt.Sprintf("  not re-checked: winner %d, user %d\n", w.Position, w.UserID))
				}

				// Telegram is back, and the first winner has left: the
				// next call disqualifies them and checks the replacement.
				gone, kept := sel.Winners[0], sel.Winners[1]
				d.tg.Heal()
				d.tg.SetMember(recheckChat, gone.UserID, telegramtest.Left)
				rc = d.selectUntilRechecked(gid, 2).Recheck
				if rc == nil || rc.Status != draw.RecheckComplete || len(rc.Unchecked) != 0 || len(rc.Disqualified) != 1 {
					t.Fatalf("select-winners' recheck with Telegram back: %+v", rc)
				}
				dq := rc.Disqualified[0]
				if dq.UserID != gone.UserID || dq.Position != gone.Position || dq.Reason != draw.ReasonNotSubscribed ||
					dq.Round == nil || *dq.Round != 1 || dq.ReplacedBy == nil || slices.Contains(winners, *dq.ReplacedBy) {
					t.Fatalf("disqualified: %+v, want user %d at position %d replaced in round 1", dq, gone.UserID, gone.Position)
				}
				if !slices.Equal(slices.Sorted(slices.Values(rc.Final)), slices.Sorted(slices.Values([]int64{kept.UserID, *dq.ReplacedBy}))) {
					t.Fatalf("final winners %v, want %d and the replacement %d", rc.Final, kept.UserID, *dq.ReplacedBy)
				}
				out = d.verified(gid)
				mustContain(t, out,
					fmt.Sprintf("    disqualified user %d: not subscribed to the required chats [not_subscribed]\n", gone.UserID),
					fmt.Sprintf("    position %d: user %d replaces user %d,", gone.Position, *dq.ReplacedBy, gone.UserID),
					fmt.Sprintf("  user %d, position %d (initial draw): failed (not subscribed to the required chats [not_subscribed]), checked ", gone.UserID, gone.Position),
					"; disqualified for it in redraw round 1\n",
					fmt.Sprintf("  user %d, position %d (redraw round 1): passed, checked ", *dq.ReplacedBy, gone.Position),
					fmt.Sprintf("  user %d, position %d (initial draw): passed, checked ", kept.UserID, kept.Position),
					"the re-check is complete: the service reports that each of the 2 current winner(s) passed")
				if strings.Contains(out, "not re-checked") {
					t.Fatalf("a complete re-check lists winners not re-checked:\n%s", out)
				}
				d.mustMonitor(filepath.Join(t.TempDir(), "monitor.json"))
			}

			// The re-check metric counts each saved result once, and
			// each winner of a pass that could not ask Telegram.
			var passed, failed float64
			for _, gid := range []int64{41, 42} {
				rec, err := d.c.Draw(ctx, gid)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range rec.Recheck.Checked {
					if c.Passed {
						passed++
					} else {
						failed++
					}
				}
			}
			got := d.rechecksCounted()
			if got["passed"] != passed || got["failed"] != failed || got["unchecked"] < 2 {
				t.Fatalf("participant_draw_rechecks_total %v; the records hold %v passed and %v failed checks, and 2 winners were not checked at least once",
					got, passed, failed)
			}
		})
	}
}
