package participantctl_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participantctl"
	"github.com/telegive/participant-service/pkg/draw"
)

// The stand-in's rules in words, as verify-draw prints them.
var rulesInWords = []string{
	"               required chats: -1001234567890, @telegive_news\n",
	"               admins excluded: yes, the chats' administrators and creators cannot win\n",
	"               premium only: no\n",
	"               minimum account age: 30 day(s), as estimated from the user id\n",
	"               max tickets: 5 per entrant\n",
	"               referral bonus: none\n",
	"               re-check at draw: yes, the winners are checked against these rules again when drawn\n",
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", out)
	}
}

// TestVerifyDrawV2ChecksTheRules fetches the rules the record commits to,
// checks their hash, and prints them in words; rules that hash otherwise
// fail the draw, and rules the service cannot serve leave it not fully
// verified.
func TestVerifyDrawV2ChecksTheRules(t *testing.T) {
	s := newStandIn(t)
	s.drawV2(v2Giveaway)

	t.Run("match", func(t *testing.T) {
		code, out, errOut := run(t, "", verifyArgs(s, 7)...)
		if code != participantctl.ExitOK {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		mustContain(t, out, append([]string{
			"  rules        sha256 " + rulesHash.String() + " (committed when the giveaway opened; checked against the rules served)\n",
			"  ok  rules (the rules as served hash to the record's rules_sha256; from the service)\n",
			// The rules ask for a re-check the record does not report.
			"  re-check     the rules ask for a re-check of the winners at the draw, but the record reports none",
		}, rulesInWords...)...)
	})

	cases := []struct {
		name   string
		hook   func(body map[string]any) int
		code   int
		wants  []string
		absent string
	}{
		{name: "other rules", code: participantctl.ExitFailed, hook: func(b map[string]any) int {
			other := strings.Replace(rulesJSON, `"max_tickets":5`, `"max_tickets":4`, 1)
			b["rules"] = json.RawMessage(other)
			return 200
		}, wants: []string{"FAILED rules: the rules from the service hash to "}},
		{name: "right rules, wrong hash served", code: participantctl.ExitFailed, hook: func(b map[string]any) int {
			b["rules_sha256"] = strings.Repeat("ab", 32)
			return 200
		}, wants: []string{"FAILED rules: the service serves the rules with rules_sha256 abab"}},
		{name: "unavailable", code: participantctl.ExitPartial, hook: func(map[string]any) int { return 500 },
			wants: []string{
				"NOT FULLY VERIFIED: giveaway 7",
				"  rules        sha256 " + rulesHash.String() + " (committed when the giveaway opened; not checked: see below)\n",
				"  not checked  rules: the record commits to rules with sha256 " + rulesHash.String() + ", but the service's rules could not be fetched (",
			}, absent: "  ok  rules"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.mu.Lock()
			s.rulesHook = tc.hook
			s.mu.Unlock()
			t.Cleanup(func() {
				s.mu.Lock()
				s.rulesHook = nil
				s.mu.Unlock()
			})
			code, out, errOut := run(t, "", verifyArgs(s, 7)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			mustContain(t, out, tc.wants...)
			if tc.absent != "" && strings.Contains(out, tc.absent) {
				t.Errorf("the output has %q", tc.absent)
			}
		})
	}

	// A record file holds no rules: not checked, unless --rules gives them,
	// even reformatted (their RFC 8785 form is what was hashed).
	t.Run("record file", func(t *testing.T) {
		dir := t.TempDir()
		recFile := filepath.Join(dir, "record.json")
		b, _ := json.Marshal(s.records[7])
		if err := os.WriteFile(recFile, b, 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"verify-draw"}, s.pinned("--log-key")...)
		code, out, _ := run(t, "", append(args, recFile)...)
		if code != participantctl.ExitPartial {
			t.Fatalf("exit %d, want %d\n%s", code, participantctl.ExitPartial, out)
		}
		mustContain(t, out, "  not checked  rules: the record commits to rules with sha256 "+rulesHash.String()+", but a record file holds no rules; give --rules FILE")

		var pretty map[string]any
		if err := json.Unmarshal([]byte(rulesJSON), &pretty); err != nil {
			t.Fatal(err)
		}
		answer, _ := json.MarshalIndent(map[string]any{"success": true, "giveaway_id": 7, "rules": pretty, "rules_sha256": rulesHash.String()}, "", "  ")
		rulesFile := filepath.Join(dir, "rules.json")
		if err := os.WriteFile(rulesFile, answer, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, _ = run(t, "", append(args, "--rules", rulesFile, recFile)...)
		if code != participantctl.ExitPartial || strings.Contains(out, "not checked  rules") {
			t.Fatalf("with --rules: exit %d\n%s", code, out)
		}
		mustContain(t, out, append([]string{"  ok  rules (the rules, in their RFC 8785 form, hash to the record's rules_sha256; from " + rulesFile + ")\n"},
			rulesInWords...)...)

		other := filepath.Join(dir, "other.json")
		if err := os.WriteFile(other, []byte(strings.Replace(rulesJSON, `"premium_only":false`, `"premium_only":true`, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, _ = run(t, "", append(args, "--rules", other, recFile)...)
		if code != participantctl.ExitFailed || !strings.Contains(out, "FAILED rules: the rules from "+other+" hash to ") {
			t.Fatalf("other rules in a file: exit %d\n%s", code, out)
		}
	})
}

// serveRecheck has the stand-in serve its records with a re-check
// made by edit, as an honest or a lying service would.
func (s *standIn) serveRecheck(edit func(r *draw.Record, rc *draw.Recheck)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordHook = func(r *draw.Record) {
		rc := &draw.Recheck{Checked: []draw.RecheckResult{}, Unchecked: []int64{}}
		edit(r, rc)
		r.Recheck = rc
	}
}

// TestVerifyDrawV2ShowsTheRecheck prints the service's re-check as its
// statement, which leaves the verdict as the proofs make it, and fails the
// draw on a re-check the record contradicts.
func TestVerifyDrawV2ShowsTheRecheck(t *testing.T) {
	s := newStandIn(t)
	rec := s.drawV2(v2Giveaway)
	t.Cleanup(func() { s.recordHook = nil })
	winners := rec.Winners
	gone := rec.Replacements[0].Disqualified[0]
	repl := rec.Replacements[0].Replacements[0]
	at := func(t time.Time) time.Time { return t.Add(5 * time.Second) }
	check := func(w draw.Pick, passed bool, reason draw.Reason) draw.RecheckResult {
		return draw.RecheckResult{UserID: w.UserID, Position: uint64(w.Position), Passed: passed, Reason: reason, CheckedAt: at(rec.DrawnAt)}
	}
	// The honest story: winner 2 failed for fraud and was replaced.
	var lost draw.Pick
	var kept []draw.Pick
	for _, w := range winners {
		if w.UserID == gone.UserID {
			lost = w
		} else {
			kept = append(kept, w)
		}
	}
	honest := func(r *draw.Record, rc *draw.Recheck) {
		rc.Status = draw.RecheckPending
		rc.Checked = []draw.RecheckResult{check(kept[0], true, ""), check(lost, false, draw.ReasonFraud)}
		rc.Unchecked = []int64{kept[1].UserID, repl.UserID}
	}

	t.Run("pending", func(t *testing.T) {
		s.serveRecheck(honest)
		code, out, errOut := run(t, "", verifyArgs(s, 7)...)
		if code != participantctl.ExitOK {
			t.Fatalf("exit %d, want 0: a pending re-check is the service's statement, not a check\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		mustContain(t, out,
			"  re-check     the service reports that it re-checked the winners against the rules at the draw; these are its statement of Telegram's answers, which no proof can show",
			fmt.Sprintf("                 user %d, position %d (initial draw): passed, checked %s\n", kept[0].UserID, kept[0].Position, at(rec.DrawnAt).Format(time.RFC3339)),
			fmt.Sprintf("                 user %d, position %d (initial draw): failed (fraud), checked %s; disqualified for it in redraw round 1\n", lost.UserID, lost.Position, at(rec.DrawnAt).Format(time.RFC3339)),
			fmt.Sprintf("                 not re-checked: winner %d, user %d\n", kept[1].Position, kept[1].UserID),
			fmt.Sprintf("                 not re-checked: winner %d, user %d\n", repl.Position, repl.UserID),
			"                 the re-check is not finished (status pending): the winners may still change\n",
			fmt.Sprintf("    disqualified user %d: fraud\n", gone.UserID),
			fmt.Sprintf("    position %d: user %d replaces user %d, ", repl.Position, repl.UserID, gone.UserID),
		)
	})

	t.Run("complete", func(t *testing.T) {
		s.serveRecheck(func(r *draw.Record, rc *draw.Recheck) {
			honest(r, rc)
			rc.Status = draw.RecheckComplete
			rc.Checked = append(rc.Checked, check(kept[1], true, ""),
				draw.RecheckResult{UserID: repl.UserID, Position: uint64(repl.Position), Round: 1, Passed: true, CheckedAt: at(r.Replacements[0].RedrawnAt)})
			rc.Unchecked = []int64{}
		})
		code, out, _ := run(t, "", verifyArgs(s, 7)...)
		if code != participantctl.ExitOK {
			t.Fatalf("exit %d\n%s", code, out)
		}
		mustContain(t, out, fmt.Sprintf("                 user %d, position %d (redraw round 1): passed", repl.UserID, repl.Position),
			"                 the re-check is complete: the service reports that each of the 3 current winner(s) passed\n")
		if strings.Contains(out, "not re-checked") {
			t.Errorf("a complete re-check lists a winner as not re-checked:\n%s", out)
		}
	})

	var outsider int64
	chosen := map[int64]bool{}
	for _, c := range rec.Claims() {
		chosen[c.UserID] = true
	}
	for i := int64(1); outsider == 0; i++ {
		if !chosen[1000*i+7] {
			outsider = 1000*i + 7
		}
	}
	bad := []struct {
		name, want string
		edit       func(r *draw.Record, rc *draw.Recheck)
	}{
		{"never a winner", fmt.Sprintf("but user %d was never a winner in the record", outsider), func(r *draw.Record, rc *draw.Recheck) {
			honest(r, rc)
			rc.Checked = append(rc.Checked, draw.RecheckResult{UserID: outsider, Position: 1, Passed: true, CheckedAt: at(r.DrawnAt)})
		}},
		{"other reason", fmt.Sprintf("that failed for not_subscribed, but the record disqualified user %d in redraw round 1 for fraud", lost.UserID), func(r *draw.Record, rc *draw.Recheck) {
			honest(r, rc)
			rc.Checked[1].Reason = draw.ReasonNotSubscribed
		}},
		{"failed, complete, still a winner", fmt.Sprintf("but the re-check is complete and user %d is still a winner", kept[0].UserID), func(r *draw.Record, rc *draw.Recheck) {
			honest(r, rc)
			rc.Status = draw.RecheckComplete
			rc.Checked[0] = check(kept[0], false, draw.ReasonAdmin)
			rc.Unchecked = nil
		}},
		{"complete with unchecked", "the re-check is complete, yet 2 winner(s) are listed as not re-checked", func(r *draw.Record, rc *draw.Recheck) {
			honest(r, rc)
			rc.Status = draw.RecheckComplete
		}},
		{"unchecked not a winner", fmt.Sprintf("lists user %d as not re-checked yet, but user %d is not a current winner", lost.UserID, lost.UserID), func(r *draw.Record, rc *draw.Recheck) {
			honest(r, rc)
			rc.Unchecked = append(rc.Unchecked, lost.UserID)
		}},
		{"wrong position", fmt.Sprintf("but the record drew user %d at position %d in the initial draw", kept[0].UserID, kept[0].Position), func(r *draw.Record, rc *draw.Recheck) {
			honest(r, rc)
			rc.Checked[0].Position += 7
		}},
		{"before the draw", "before that round was drawn at", func(r *draw.Record, rc *draw.Recheck) {
			honest(r, rc)
			rc.Checked[0].CheckedAt = r.DrawnAt.Add(-time.Minute)
		}},
		{"unknown status", `the re-check's status is "done"`, func(r *draw.Record, rc *draw.Recheck) {
			honest(r, rc)
			rc.Status = "done"
		}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			s.serveRecheck(tc.edit)
			code, out, errOut := run(t, "", verifyArgs(s, 7)...)
			if code != participantctl.ExitFailed || !strings.Contains(out, "FAILED recheck: ") || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d with FAILED recheck ... %q\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitFailed, tc.want, out, errOut)
			}
		})
	}
}
