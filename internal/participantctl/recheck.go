package participantctl

import (
	"fmt"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// reasonWords says what each disqualification reason means.
var reasonWords = map[draw.Reason]string{
	draw.ReasonNotSubscribed:   "not subscribed to the required chats",
	draw.ReasonAdmin:           "an administrator of a required chat",
	draw.ReasonPremiumRequired: "no Telegram Premium",
	draw.ReasonAccountTooNew:   "account too new",
	draw.ReasonFraud:           "fraud",
	draw.ReasonUnreachable:     "could not be reached",
	draw.ReasonDeclined:        "declined the prize",
	draw.ReasonRulesViolation:  "broke the giveaway's rules",
}

// reasonText is a reason in words, with its code when the words differ.
func reasonText(r draw.Reason) string {
	w, ok := reasonWords[r]
	switch {
	case !ok:
		return fmt.Sprintf("%q", string(r))
	case w == string(r):
		return w
	}
	return fmt.Sprintf("%s [%s]", w, r)
}

// seat is where a user was drawn: the round (0 for the initial draw) and
// the position.
type seat struct {
	round    uint64
	position int
}

// disqualification is the round a user was disqualified in, and why.
type disqualification struct {
	round       uint64
	reason      draw.Reason
	requestedAt time.Time
}

// checkRecheck reads rec's recheck, the service's statement of what
// Telegram answered when it checked the winners against the rules at the
// draw. No proof shows those answers, so they are printed as the
// service's word; what the record itself shows is checked: every check is
// of someone drawn at that round and position, after they were drawn; a
// failed check names a reason and, once the re-check is complete, the
// winner is disqualified for that reason in a later round; the unchecked
// are current winners; a complete re-check leaves no current winner
// unchecked. rules are the committed rules when they were checked. The
// lines returned are the service's statement, which never makes a draw
// verified or failed; only the inconsistencies fail it.
func checkRecheck(rec draw.Record, rules *ruleSet) ([]string, *failure) {
	var lines []string
	rc := rec.Recheck
	asked := rules != nil && rules.rules.RecheckAtDraw
	if rc == nil {
		switch {
		case asked:
			lines = append(lines, "the rules ask for a re-check of the winners at the draw, but the record reports none: whether they still met the rules when drawn is not stated")
		case rules != nil:
			lines = append(lines, "none: the rules ask for no re-check at the draw")
		default:
			lines = append(lines, "none reported")
		}
		return lines, nil
	}
	if rc.Status != draw.RecheckPending && rc.Status != draw.RecheckComplete {
		return lines, failedf("recheck", "the re-check's status is %q, not %q or %q", rc.Status, draw.RecheckPending, draw.RecheckComplete)
	}

	seats := map[int64]seat{}
	drawnAt := []time.Time{rec.DrawnAt}
	for _, w := range rec.Winners {
		seats[w.UserID] = seat{0, w.Position}
	}
	gone := map[int64]disqualification{}
	for n, rd := range rec.Replacements {
		round := uint64(n + 1)
		drawnAt = append(drawnAt, rd.RedrawnAt)
		for _, d := range rd.Disqualified {
			gone[d.UserID] = disqualification{round, d.Reason, rd.RequestedAt}
		}
		for _, p := range rd.Replacements {
			if !p.Empty() {
				seats[p.UserID] = seat{round, p.Position}
			}
		}
	}
	current := rec.CurrentWinners()
	isCurrent := make(map[int64]bool, len(current))
	for _, w := range current {
		isCurrent[w.UserID] = true
	}
	roundName := func(r uint64) string {
		if r == 0 {
			return "initial draw"
		}
		return fmt.Sprintf("redraw round %d", r)
	}

	lines = append(lines, "the service reports that it re-checked the winners against the rules at the draw; these are its statement of Telegram's answers, which no proof can show, so the verdict does not rest on them:")
	passed := map[int64]bool{} // current winners reported to pass at their seat
	outcome := map[seat]map[int64]bool{}
	for _, c := range rc.Checked {
		who := fmt.Sprintf("the service reports a re-check of user %d at position %d in the %s", c.UserID, c.Position, roundName(c.Round))
		if c.Round > uint64(len(rec.Replacements)) {
			return lines, failedf("recheck", "%s, but the record has %d redraw round(s)", who, len(rec.Replacements))
		}
		s, ok := seats[c.UserID]
		switch {
		case !ok:
			return lines, failedf("recheck", "%s, but user %d was never a winner in the record", who, c.UserID)
		case s.round != c.Round || uint64(s.position) != c.Position:
			return lines, failedf("recheck", "%s, but the record drew user %d at position %d in the %s", who, c.UserID, s.position, roundName(s.round))
		case c.CheckedAt.Before(drawnAt[c.Round]):
			return lines, failedf("recheck", "%s made at %s, before that round was drawn at %s", who, c.CheckedAt.UTC().Format(time.RFC3339), drawnAt[c.Round].UTC().Format(time.RFC3339))
		case c.Passed && c.Reason != "":
			return lines, failedf("recheck", "%s that passed, yet names the reason %q", who, c.Reason)
		case !c.Passed && !c.Reason.Valid():
			return lines, failedf("recheck", "%s that failed for %q, which is not a disqualification reason", who, c.Reason)
		}
		at := seat{c.Round, int(c.Position)}
		if outcome[at] == nil {
			outcome[at] = map[int64]bool{}
		}
		if prev, seen := outcome[at][c.UserID]; seen && prev != c.Passed {
			return lines, failedf("recheck", "%s both passed and failed", who)
		}
		outcome[at][c.UserID] = c.Passed
		line := fmt.Sprintf("  user %d, position %d (%s): ", c.UserID, c.Position, roundName(c.Round))
		d, disqualified := gone[c.UserID]
		if c.Passed {
			line += "passed, checked " + c.CheckedAt.UTC().Format(time.RFC3339)
			if disqualified {
				line += fmt.Sprintf("; disqualified later, in redraw round %d, for %s", d.round, reasonText(d.reason))
			} else {
				passed[c.UserID] = true
			}
			lines = append(lines, line)
			continue
		}
		line += fmt.Sprintf("failed (%s), checked %s", reasonText(c.Reason), c.CheckedAt.UTC().Format(time.RFC3339))
		switch {
		case disqualified && d.reason != c.Reason:
			return lines, failedf("recheck", "%s that failed for %s, but the record disqualified user %d in redraw round %d for %s", who, c.Reason, c.UserID, d.round, d.reason)
		case disqualified && d.requestedAt.Before(c.CheckedAt):
			return lines, failedf("recheck", "%s that failed at %s, after redraw round %d disqualified user %d for it at %s", who,
				c.CheckedAt.UTC().Format(time.RFC3339), d.round, c.UserID, d.requestedAt.UTC().Format(time.RFC3339))
		case disqualified:
			line += fmt.Sprintf("; disqualified for it in redraw round %d", d.round)
		case rc.Status == draw.RecheckComplete:
			return lines, failedf("recheck", "%s that failed for %s, but the re-check is complete and user %d is still a winner", who, c.Reason, c.UserID)
		default:
			line += "; still a winner: the redraw round that replaces this winner is not in the record yet"
		}
		lines = append(lines, line)
	}

	listed := map[int64]bool{}
	for _, u := range rc.Unchecked {
		switch {
		case !isCurrent[u]:
			return lines, failedf("recheck", "the service lists user %d as not re-checked yet, but user %d is not a current winner", u, u)
		case listed[u]:
			return lines, failedf("recheck", "the service lists user %d as not re-checked twice", u)
		case passed[u]:
			return lines, failedf("recheck", "the service lists user %d as not re-checked, yet reports that user passed the re-check", u)
		}
		listed[u] = true
	}
	if rc.Status == draw.RecheckComplete && len(rc.Unchecked) > 0 {
		return lines, failedf("recheck", "the re-check is complete, yet %d winner(s) are listed as not re-checked", len(rc.Unchecked))
	}
	for _, w := range current {
		if passed[w.UserID] || listed[w.UserID] {
			continue
		}
		if rc.Status == draw.RecheckComplete {
			return lines, failedf("recheck", "the re-check is complete, but the service reports no passed check of winner %d, user %d", w.Position, w.UserID)
		}
		if _, reported := outcome[seats[w.UserID]][w.UserID]; reported {
			continue
		}
		listed[w.UserID] = false
	}
	for _, w := range current {
		if _, ok := listed[w.UserID]; ok {
			lines = append(lines, fmt.Sprintf("  not re-checked: winner %d, user %d", w.Position, w.UserID))
		}
	}
	switch {
	case rc.Status == draw.RecheckPending:
		lines = append(lines, "  the re-check is not finished (status pending): the winners may still change")
	case len(current) > 0:
		lines = append(lines, fmt.Sprintf("  the re-check is complete: the service reports that each of the %d current winner(s) passed", len(current)))
	default:
		lines = append(lines, "  the re-check is complete")
	}
	if rules != nil && !rules.rules.RecheckAtDraw {
		lines = append(lines, "  the committed rules do not ask for this re-check")
	}
	return lines, nil
}
