package participant

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
)

// The draw-time re-check (recheck_at_draw) of a v2 giveaway: right after
// the draw, every winner is checked again against the giveaway's locked
// rules, asking Telegram afresh (no cached membership is trusted). The
// winners who fail are disqualified together, with the reason of the
// rule they broke, in one v2 redraw round, whose replacements are checked
// the same way, and so on until every current winner passes. A winner
// Telegram cannot be asked about is neither passed nor failed: the record
// lists them as unchecked, and they are asked again by the next
// select-winners call or, with a growing wait, in the background.
//
// What is checked again: the required chats (a member who left fails
// with not_subscribed, one who became an administrator of a chat, when
// the rules exclude administrators, with admin) and, for premium_only
// rules, Premium as far as getChatMember's answers say: a winner whose
// every answer's user carries is_premium false fails with
// premium_required. Telegram sends is_premium only when it is true, so
// an answer without it leaves Premium as registration checked it, as it
// does the account's age, which cannot change.

// RecheckNotApplied is the re-check status of a giveaway whose rules ask
// for it but whose draw is telegive-draw-v1: only v2 draws are re-checked.
const RecheckNotApplied = "not_applied"

// RecheckSummary is what select-winners says of the draw-time re-check.
type RecheckSummary struct {
	// Status is draw.RecheckComplete, draw.RecheckPending, or
	// RecheckNotApplied.
	Status string
	// Final are the current winners whose check passed, by position.
	Final []int64
	// Unchecked are the current winners Telegram could not be asked
	// about yet, ascending.
	Unchecked []int64
	// Pending is the redraw round that waits for its beacon, nil when
	// none does.
	Pending *PendingRound
	// Disqualified lists every winner who failed the check, in the order
	// checked.
	Disqualified []RecheckDisqualification
}

// PendingRound is a requested v2 redraw round waiting for its beacon.
type PendingRound struct {
	Round        uint64
	BeaconRound  uint64
	BeaconAt     time.Time
	Disqualified []draw.Disqualification
}

// RecheckDisqualification is a winner who failed the re-check.
type RecheckDisqualification struct {
	UserID   int64
	Position int
	Reason   draw.Reason
	// Round is the redraw round that disqualifies the winner, pending or
	// drawn; 0 while none is requested yet.
	Round uint64
	// ReplacedBy is the replacement drawn for the position, 0 while the
	// round is pending or when the entrants ran out.
	ReplacedBy int64
}

// maxParallelRechecks bounds the winners checked at once; each check asks
// up to four chats at once itself (internal/upstream).
const maxParallelRechecks = 4

// recheckSaveMargin is the time a pass of checks leaves before the
// caller's deadline to save what it learned.
const recheckSaveMargin = 2 * time.Second

// recheckPassTimeout bounds one pass of checks without a deadline of the
// caller's (the background).
const recheckPassTimeout = 15 * time.Second

// maxRecheckSteps bounds what one call does (passes of checks, rounds
// requested and finished), so that no call runs away; the next call goes
// on.
const maxRecheckSteps = 64

// recheckAsked reports whether the drawn v2 draw d is to be re-checked:
// the rules it committed ask for it.
func (s *Service) recheckAsked(ctx context.Context, q RuleQueries, d Draw) (bool, error) {
	if !d.V2() || d.Record.RulesSHA256 == nil {
		return false, nil
	}
	gr, err := s.rulesOf(ctx, q, d.GiveawayID)
	if err != nil {
		return false, err
	}
	if draw.Hash(gr.SHA256) != *d.Record.RulesSHA256 {
		return false, fmt.Errorf("giveaway %d: its rules (sha256 %s) are not those its draw committed (%s)",
			d.GiveawayID, gr.SHA256Hex(), d.Record.RulesSHA256)
	}
	return gr.Rules.RecheckAtDraw, nil
}

// recheckDue returns a copy of rec's re-check marked pending, and when
// the background is to take it up: after finishLease, which leaves the
// call that drew the winners the time to check them itself. Unchecked
// keeps only rec's current winners: a winner a round replaced (one
// disqualified by hand while Telegram could not be asked, say) is no
// longer to be checked.
func recheckDue(rec draw.Record, now time.Time) (*draw.Recheck, time.Time) {
	c := cloneRecheck(rec.Recheck)
	c.Status = draw.RecheckPending
	current := map[int64]bool{}
	for _, w := range rec.CurrentWinners() {
		current[w.UserID] = true
	}
	c.Unchecked = slices.DeleteFunc(c.Unchecked, func(id int64) bool { return !current[id] })
	return c, now.Add(finishLease)
}

func cloneRecheck(rc *draw.Recheck) *draw.Recheck {
	c := &draw.Recheck{Status: draw.RecheckPending, Checked: []draw.RecheckResult{}, Unchecked: []int64{}}
	if rc != nil {
		c.Status = rc.Status
		c.Checked = append(c.Checked, rc.Checked...)
		c.Unchecked = append(c.Unchecked, rc.Unchecked...)
	}
	return c
}

// recheckRetry is how long the background waits before asking Telegram
// again about unchecked winners: a quarter of the time since the draw,
// from 10 seconds to an hour, so that an outage costs few calls.
func recheckRetry(drawnAt, now time.Time) time.Duration {
	return min(max(now.Sub(drawnAt)/4, 10*time.Second), time.Hour)
}

// recheckPlan is what the re-check of a draw has left to do.
type recheckPlan struct {
	// toCheck are the current winners without a result.
	toCheck []draw.Pick
	// failed are the current winners whose check failed, with the
	// reason: the next round disqualifies them.
	failed []draw.Disqualification
}

func planRecheck(d Draw) recheckPlan {
	var p recheckPlan
	results := recheckResults(d.Record.Recheck)
	for _, w := range d.Record.CurrentWinners() {
		r, ok := results[w.UserID]
		switch {
		case !ok:
			p.toCheck = append(p.toCheck, w)
		case !r.Passed:
			p.failed = append(p.failed, draw.Disqualification{UserID: w.UserID, Reason: r.Reason})
		}
	}
	return p
}

// recheckResults are the checks made, by user: an entrant is chosen at
// most once in a v2 draw, so a user has at most one.
func recheckResults(rc *draw.Recheck) map[int64]draw.RecheckResult {
	out := map[int64]draw.RecheckResult{}
	if rc == nil {
		return out
	}
	for _, r := range rc.Checked {
		if _, ok := out[r.UserID]; !ok {
			out[r.UserID] = r
		}
	}
	return out
}

// recheckStatus is complete when every current winner passed and no
// round is pending.
func recheckStatus(d Draw) string {
	p := planRecheck(d)
	if d.PendingRedraw != nil || len(p.toCheck) > 0 || len(p.failed) > 0 {
		return draw.RecheckPending
	}
	return draw.RecheckComplete
}

// continueRecheck takes the re-check of the giveaway's drawn v2 draw as
// far as it can: it finishes a pending redraw round, checks the current
// winners not checked yet (each at most once per call), and requests a
// round for those who failed. With wait, rounds wait for their beacon
// while the context's deadline (and the beacon source's) allows, and a
// round the deadline leaves pending is left for the next call or the
// background; without wait (the background), a requested round is only
// attested, and FinishPendingDraws draws it once its beacon is out.
func (s *Service) continueRecheck(ctx context.Context, giveawayID int64, chain beacon.Chain, wait bool) error {
	tried := map[int64]bool{}
	for range maxRecheckSteps {
		d, err := s.store.Draw(ctx, giveawayID)
		if err != nil {
			return err
		}
		if d.Status != DrawDrawn || !d.V2() {
			return nil
		}
		if d.Record.Recheck == nil {
			asked, err := s.recheckAsked(ctx, s.store, d)
			if err != nil || !asked {
				return err
			}
		}
		if p := d.PendingRedraw; p != nil {
			if !wait {
				_, _, err := s.attestRound(ctx, giveawayID, chain, *p)
				return err
			}
			if _, err := s.finishRedraw(ctx, giveawayID, chain, *p); err != nil {
				if ErrorCode(err) == CodeBeaconUnavailable {
					// The round stays pending, its beacon fixed: the
					// next call, or the background, draws it.
					return nil
				}
				return err
			}
			continue
		}
		plan := planRecheck(d)
		if len(plan.failed) > 0 {
			if err := s.requestRecheckRound(ctx, giveawayID, chain); err != nil {
				return err
			}
			continue
		}
		var check []draw.Pick
		for _, w := range plan.toCheck {
			if !tried[w.UserID] {
				check = append(check, w)
				tried[w.UserID] = true
			}
		}
		results, unchecked, err := s.checkWinners(ctx, d, check)
		if err != nil {
			return err
		}
		if err := s.saveRecheck(ctx, giveawayID, results, unchecked); err != nil {
			return err
		}
		if len(check) == 0 {
			return nil
		}
	}
	return nil
}

// requestRecheckRound requests, under the draw row's lock, one redraw
// round disqualifying every current winner whose check failed, unless a
// round is pending already (another call's, which the caller finishes
// first) or none is left to disqualify (another call's round did).
func (s *Service) requestRecheckRound(ctx context.Context, giveawayID int64, chain beacon.Chain) error {
	return s.store.InTx(ctx, func(q Queries) error {
		d, err := q.EnsureDraw(ctx, giveawayID, Draw{}, LockExclusive)
		if err != nil {
			return err
		}
		if d.Status != DrawDrawn || !d.V2() || d.PendingRedraw != nil {
			return nil
		}
		failed := planRecheck(d).failed
		if len(failed) == 0 {
			return nil
		}
		_, err = s.requestRound(ctx, q, &d, failed, chain)
		return err
	})
}

// saveRecheck keeps the checks made, under the draw row's lock, in a
// short transaction of its own: a result counts only for a user who is
// still the current winner at the position checked and has none yet, so
// that racing calls keep one result each. It also sets when the
// background takes the re-check up again, if ever. Once the transaction
// commits, OnRecheck hears each result kept and each current winner left
// unchecked by this pass.
func (s *Service) saveRecheck(ctx context.Context, giveawayID int64, results []draw.RecheckResult, unchecked []int64) error {
	var events []RecheckEvent
	err := s.store.InTx(ctx, func(q Queries) error {
		events = events[:0]
		d, err := q.EnsureDraw(ctx, giveawayID, Draw{}, LockExclusive)
		if err != nil {
			return err
		}
		if d.Status != DrawDrawn || !d.V2() {
			return nil
		}
		before := d.Record.Recheck
		rc := cloneRecheck(before)
		have := recheckResults(rc)
		seats := map[int64]int{}
		for _, w := range d.Record.CurrentWinners() {
			seats[w.UserID] = w.Position
		}
		added := 0
		for _, r := range results {
			pos, ok := seats[r.UserID]
			if _, done := have[r.UserID]; done || !ok || uint64(pos) != r.Position {
				continue
			}
			rc.Checked = append(rc.Checked, r)
			have[r.UserID] = r
			added++
			e := RecheckEvent{GiveawayID: giveawayID, UserID: r.UserID, Outcome: RecheckPassed}
			if !r.Passed {
				e.Outcome, e.Reason = RecheckFailed, r.Reason
			}
			events = append(events, e)
		}
		var left []int64
		for _, id := range slices.Concat(rc.Unchecked, unchecked) {
			if _, ok := seats[id]; ok {
				if _, done := have[id]; !done {
					left = append(left, id)
				}
			}
		}
		for _, id := range unique(unchecked) {
			if _, ok := seats[id]; ok {
				if _, done := have[id]; !done {
					events = append(events, RecheckEvent{GiveawayID: giveawayID, UserID: id, Outcome: RecheckUnchecked})
				}
			}
		}
		rc.Unchecked = unique(left)
		slices.Sort(rc.Unchecked)
		d.Record.Recheck = rc
		rc.Status = recheckStatus(d)
		beaconAt := d.BeaconAt
		if d.PendingRedraw == nil {
			beaconAt = time.Time{}
			if rc.Status == draw.RecheckPending {
				now := s.opts.Now()
				beaconAt = now.Add(recheckRetry(d.Record.DrawnAt, now))
			}
		}
		if before != nil && added == 0 && before.Status == rc.Status && slices.Equal(before.Unchecked, rc.Unchecked) &&
			beaconAt.Equal(d.BeaconAt) {
			return nil
		}
		d.BeaconAt = beaconAt
		return q.SaveDraw(ctx, d)
	})
	if err == nil && s.opts.OnRecheck != nil {
		for _, e := range events {
			s.opts.OnRecheck(e)
		}
	}
	return err
}

// checkWinners checks the winners against the draw's rules, asking
// Telegram afresh, a few at a time. It returns a result for each winner
// with a definite answer, and lists the others as unchecked: the
// giveaway service, Telegram or the chats' setup could not say. Only a
// failure of the service's own store is an error.
func (s *Service) checkWinners(ctx context.Context, d Draw, winners []draw.Pick) ([]draw.RecheckResult, []int64, error) {
	if len(winners) == 0 {
		return nil, nil, nil
	}
	gr, err := s.rulesOf(ctx, s.store, d.GiveawayID)
	if err != nil {
		return nil, nil, err
	}
	rounds := winnerRounds(d.Record)
	result := func(w draw.Pick, reason draw.Reason) draw.RecheckResult {
		return draw.RecheckResult{UserID: w.UserID, Position: uint64(w.Position), Round: rounds[w.UserID],
			Passed: reason == "", Reason: reason, CheckedAt: s.nowSeconds()}
	}
	if len(gr.Rules.RequiredChats) == 0 && !s.opts.RequireSubscription {
		// The rules require no chat, and nothing else they check can
		// change since registration.
		out := make([]draw.RecheckResult, len(winners))
		for i, w := range winners {
			out[i] = result(w, "")
		}
		return out, nil, nil
	}
	all := pickUsers(winners)
	giveUp := func(why string, err error) ([]draw.RecheckResult, []int64, error) {
		s.opts.Logger.Warn("the draw's winners cannot be checked again now; they stay unchecked",
			"giveaway_id", d.GiveawayID, "winners", len(all), "why", why, "error", err)
		return nil, all, nil
	}
	if s.giveaways == nil {
		return giveUp("no giveaway service is configured, so the giveaway's account is unknown", nil)
	}
	g, err := s.giveaways.Giveaway(ctx, d.GiveawayID)
	if err != nil {
		return giveUp("the giveaway service", err)
	}
	chats, _, err := s.requiredChats(ctx, g, gr.Rules)
	if err != nil {
		return giveUp("the account's channel", err)
	}
	m, err := s.membershipChecker()
	if err != nil {
		return giveUp("membership checks", err)
	}
	deadline := time.Now().Add(recheckPassTimeout)
	if dl, ok := ctx.Deadline(); ok {
		deadline = dl.Add(-recheckSaveMargin)
	}
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	verdicts := make([]draw.Reason, len(winners))
	known := make([]bool, len(winners))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelRechecks)
	for i, w := range winners {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ms, _ := m.RecheckMemberships(cctx, g.AccountID, w.UserID, chats)
			verdicts[i], known[i] = judgeMemberships(ms, len(chats), gr.Rules)
		}()
	}
	wg.Wait()
	var out []draw.RecheckResult
	var unchecked []int64
	for i, w := range winners {
		if !known[i] {
			unchecked = append(unchecked, w.UserID)
			continue
		}
		out = append(out, result(w, verdicts[i]))
	}
	if len(unchecked) > 0 {
		s.opts.Logger.Warn("Telegram could not be asked about some of the draw's winners; they stay unchecked",
			"giveaway_id", d.GiveawayID, "unchecked", len(unchecked), "checked", len(out))
	}
	return out, unchecked, nil
}

// judgeMemberships decides a winner from the required chats' answers: a
// definite breach fails them (no Premium, then an administrator when the
// rules exclude them, then a missing membership, as registration orders
// them), even when another chat is unknown; otherwise an unknown chat
// leaves them unchecked. No Premium is a breach of premium_only rules
// when every definite answer says is_premium false; an answer without
// the field, or one saying true, keeps registration's check. It returns
// the reason ("" for a pass) and whether the answer is known.
func judgeMemberships(ms []Membership, chats int, r Rules) (draw.Reason, bool) {
	var admin, missing, unknown bool
	var definite, notPremium int
	for _, m := range ms {
		if m.Err == nil {
			definite++
			if m.IsPremium != nil && !*m.IsPremium {
				notPremium++
			}
		}
		switch {
		case m.Err != nil:
			unknown = true
		case r.ExcludeAdmins && m.IsAdmin:
			admin = true
		case !m.IsMember:
			missing = true
		}
	}
	switch {
	case r.PremiumOnly && notPremium > 0 && notPremium == definite:
		return draw.ReasonPremiumRequired, true
	case admin:
		return draw.ReasonAdmin, true
	case missing:
		return draw.ReasonNotSubscribed, true
	case unknown || len(ms) < chats:
		return "", false
	}
	return "", true
}

// winnerRounds maps every user the record ever chose to the round that
// chose them: 0 for the initial winners, r for round r's replacements.
func winnerRounds(r draw.Record) map[int64]uint64 {
	out := map[int64]uint64{}
	for _, w := range r.Winners {
		out[w.UserID] = 0
	}
	for _, rd := range r.Replacements {
		for _, p := range rd.Replacements {
			if !p.Empty() {
				out[p.UserID] = rd.Round
			}
		}
	}
	return out
}

// summarizeRecheck is the re-check of the draw as select-winners answers
// it; nil when the draw makes none.
func summarizeRecheck(d Draw) *RecheckSummary {
	rc := d.Record.Recheck
	if rc == nil {
		return nil
	}
	out := &RecheckSummary{Status: recheckStatus(d), Final: []int64{}, Unchecked: slices.Clone(rc.Unchecked),
		Disqualified: []RecheckDisqualification{}}
	if out.Unchecked == nil {
		out.Unchecked = []int64{}
	}
	results := recheckResults(rc)
	for _, w := range d.Record.CurrentWinners() {
		if r, ok := results[w.UserID]; ok && r.Passed {
			out.Final = append(out.Final, w.UserID)
		}
	}
	if p := d.PendingRedraw; p != nil {
		out.Pending = &PendingRound{Round: p.Round, BeaconRound: p.BeaconRound, BeaconAt: d.BeaconAt,
			Disqualified: slices.Clone(p.Disqualified)}
	}
	for _, r := range rc.Checked {
		if r.Passed {
			continue
		}
		dq := RecheckDisqualification{UserID: r.UserID, Position: int(r.Position), Reason: r.Reason}
		rounds := d.Record.Replacements
		if p := d.PendingRedraw; p != nil {
			rounds = append(slices.Clip(rounds), *p)
		}
	find:
		for _, rd := range rounds {
			for _, x := range rd.Disqualified {
				if x.UserID != r.UserID {
					continue
				}
				dq.Round = rd.Round
				for _, p := range rd.Replacements {
					if p.ReplacesUserID == r.UserID {
						dq.ReplacedBy = p.UserID
					}
				}
				break find
			}
		}
		out.Disqualified = append(out.Disqualified, dq)
	}
	return out
}

// withRecheck takes the re-check of a v2 selection as far as the call
// allows and returns the selection as it then stands, with the re-check
// summarized; a v1 selection whose rules ask for a re-check says it was
// not applied.
func (s *Service) withRecheck(ctx context.Context, giveawayID int64, sel Selection) (Selection, error) {
	if sel.Record.Version != draw.VersionV2 {
		gr, err := s.rulesOf(ctx, s.store, giveawayID)
		if err != nil {
			return Selection{}, err
		}
		if gr.Custom && gr.Rules.RecheckAtDraw {
			sel.Recheck = &RecheckSummary{Status: RecheckNotApplied, Final: []int64{}, Unchecked: []int64{},
				Disqualified: []RecheckDisqualification{}}
		}
		return sel, nil
	}
	if sel.Record.RulesSHA256 == nil {
		return sel, nil
	}
	chain, err := s.chain(ctx)
	if err != nil {
		return Selection{}, err
	}
	if err := s.continueRecheck(ctx, giveawayID, chain, true); err != nil {
		return Selection{}, err
	}
	d, err := s.store.Draw(ctx, giveawayID)
	if err != nil {
		return Selection{}, err
	}
	out, err := selection(ctx, s.store, d)
	if err != nil {
		return Selection{}, err
	}
	out.AlreadySelected = sel.AlreadySelected
	out.Recheck = summarizeRecheck(d)
	return out, nil
}
