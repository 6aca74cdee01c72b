package participant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// RedrawRequest disqualifies winners and asks for replacements.
type RedrawRequest struct {
	DisqualifiedUserIDs []int64
	// Reason says why, for every user listed without a reason of their
	// own. In v1 it is free text; in v2 it must be one of draw.Reasons().
	Reason string
	// Disqualified lists users each with their own reason (v2). They join
	// DisqualifiedUserIDs; a v1 round takes one reason for all.
	Disqualified []draw.Disqualification
}

// RedrawResult is one redraw round and the winners after it.
type RedrawResult struct {
	Round          draw.Redraw
	Winners        []Winner
	Record         draw.Record
	AlreadyApplied bool
}

// Redraw replaces disqualified current winners, verifiably. Repeating the
// same request returns the round it already made.
//
// v1 continues the draw's permutation in one transaction, logging the
// round's redraw-request and redraw entries.
//
// v2 first requests the round in a transaction (its redraw-request entry
// logged, its own beacon round fixed from the request's time), has the
// request attested by the witnesses, waits for that beacon round and draws
// the replacements in a second transaction. A repeated request, or
// FinishPendingDraws, finishes a round a call left waiting; another round
// cannot be asked for meanwhile (REDRAW_IN_PROGRESS).
func (s *Service) Redraw(ctx context.Context, giveawayID int64, req RedrawRequest) (RedrawResult, error) {
	dq, err := s.checkRedraw(giveawayID, req)
	if err != nil {
		return RedrawResult{}, err
	}
	for range 2 {
		version, err := s.versionOf(ctx, giveawayID)
		if err != nil {
			return RedrawResult{}, err
		}
		var out RedrawResult
		if version == draw.VersionV2 {
			out, err = s.redrawV2(ctx, giveawayID, dq)
		} else {
			out, err = s.redrawV1(ctx, giveawayID, dq)
		}
		if !errors.Is(err, errWrongVersion) {
			return out, err
		}
	}
	return RedrawResult{}, fmt.Errorf("giveaway %d: its draw's version keeps changing", giveawayID)
}

// checkRedraw validates what every version requires and returns the
// disqualified users, ascending and once each, with their reasons.
func (s *Service) checkRedraw(giveawayID int64, req RedrawRequest) ([]draw.Disqualification, error) {
	var v Validation
	checkID(&v, "giveaway_id", giveawayID)
	req.Reason = strings.TrimSpace(req.Reason)
	reasons := map[int64]string{}
	var ids []int64
	for _, id := range req.DisqualifiedUserIDs {
		ids = append(ids, id)
		if _, ok := reasons[id]; !ok {
			reasons[id] = req.Reason
		}
	}
	for _, d := range req.Disqualified {
		ids = append(ids, d.UserID)
		if r := strings.TrimSpace(string(d.Reason)); r != "" {
			reasons[d.UserID] = r
		} else if _, ok := reasons[d.UserID]; !ok {
			reasons[d.UserID] = req.Reason
		}
	}
	switch {
	case len(ids) == 0:
		v.Add("disqualified_user_ids", CodeMissingDisqualifiedUserIDs, "disqualified_user_ids must list at least one user")
	case len(ids) > s.opts.MaxWinners:
		v.Add("disqualified_user_ids", CodeInvalidDisqualifiedUserIDs, "disqualified_user_ids may list at most %d users", s.opts.MaxWinners)
	}
	for _, id := range ids {
		if !ValidID(id) {
			v.Add("disqualified_user_ids", CodeInvalidDisqualifiedUserIDs, "disqualified_user_ids must be positive integers")
			break
		}
	}
	missing, bad := false, false
	for _, r := range reasons {
		if _, ok := normalizeText(r, MaxReasonLength); !ok {
			bad = true
		}
		missing = missing || r == ""
	}
	if _, ok := normalizeText(req.Reason, MaxReasonLength); !ok || bad {
		v.Add("reason", CodeInvalidReason, "reason must be at most %d characters without control characters", MaxReasonLength)
	}
	if missing || len(ids) == 0 && req.Reason == "" {
		v.Add("reason", CodeMissingReason, "reason is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out := make([]draw.Disqualification, 0, len(reasons))
	for _, id := range unique(ids) {
		out = append(out, draw.Disqualification{UserID: id, Reason: draw.Reason(reasons[id])})
	}
	slices.SortFunc(out, func(a, b draw.Disqualification) int { return compareIDs(a.UserID, b.UserID) })
	return out, nil
}

func compareIDs(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func disqualifiedIDs(dq []draw.Disqualification) []int64 {
	ids := make([]int64, len(dq))
	for i, d := range dq {
		ids[i] = d.UserID
	}
	slices.Sort(ids)
	return ids
}

// redrawV1 is the v1 redraw: one transaction, continuing the permutation,
// with one reason for the round.
func (s *Service) redrawV1(ctx context.Context, giveawayID int64, disq []draw.Disqualification) (RedrawResult, error) {
	reason := string(disq[0].Reason)
	for _, d := range disq {
		if string(d.Reason) != reason {
			var v Validation
			v.Add("reason", CodeInvalidReason, "a %s redraw takes one reason for every disqualified winner", draw.Version)
			return RedrawResult{}, v.Err()
		}
	}
	dq := disqualifiedIDs(disq)
	var out RedrawResult
	err := s.store.InTx(ctx, func(q Queries) error {
		out = RedrawResult{}
		d, err := q.EnsureDraw(ctx, giveawayID, Draw{}, LockExclusive)
		if errors.Is(err, ErrNotFound) || err == nil && !d.V2() && d.Status != DrawDrawn {
			return errNotDrawn()
		}
		if err != nil {
			return err
		}
		if d.V2() {
			return errWrongVersion
		}
		for _, r := range d.Record.Replacements {
			if slices.Equal(sortedCopy(r.DisqualifiedUserIDs), dq) {
				out.Round, out.Record, out.AlreadyApplied = r, d.Record, true
				out.Winners, err = q.Winners(ctx, giveawayID)
				return err
			}
		}
		if err := checkCurrentWinners(d.Record, dq); err != nil {
			return err
		}
		entrants, err := q.EligibleEntrants(ctx, giveawayID, d.RequireSubscription)
		if err != nil {
			return err
		}
		if root := draw.Root(entrants); root != d.Record.EntrantsRoot {
			return fmt.Errorf("redraw giveaway %d: entrants changed since the draw (root %s, recorded %s)", giveawayID, root, d.Record.EntrantsRoot)
		}
		// A record drawn before the log existed is logged as a legacy entry
		// first, as it stood.
		if d.LogSeq == 0 {
			if err := appendBuilt(ctx, q, &d, func(h drawlog.Header) (drawlog.Entry, error) { return legacyEntry(d, h) }); err != nil {
				return err
			}
		}
		now := notBefore(s.nowSeconds(), d.Record.DrawnAt)
		round, err := d.Record.Redraw(entrants, dq, reason, now)
		if err != nil {
			return fmt.Errorf("redraw giveaway %d: %w", giveawayID, err)
		}
		d.Record.Replacements = append(d.Record.Replacements, round)
		n := len(d.Record.Replacements)
		if err := appendBuilt(ctx, q, &d, func(h drawlog.Header) (drawlog.Entry, error) { return d.Record.RedrawRequestEntry(h, n) }); err != nil {
			return err
		}
		if err := appendBuilt(ctx, q, &d, func(h drawlog.Header) (drawlog.Entry, error) { return d.Record.RedrawEntry(h, n) }); err != nil {
			return err
		}
		picks := make([]draw.Pick, len(round.Replacements))
		for i, r := range round.Replacements {
			picks[i] = draw.Pick{Position: r.Position, UserID: r.UserID, Index: r.Index}
		}
		if err := s.replaceWinners(ctx, q, giveawayID, dq, picks, now); err != nil {
			return err
		}
		if err := q.SaveDraw(ctx, d); err != nil {
			return err
		}
		out.Round, out.Record = round, d.Record
		out.Winners, err = q.Winners(ctx, giveawayID)
		return err
	})
	return out, err
}

// replaceWinners moves the winner flags and win counts from the
// disqualified users to the replacements.
func (s *Service) replaceWinners(ctx context.Context, q Queries, giveawayID int64, disqualified []int64, picks []draw.Pick, at time.Time) error {
	if err := q.Disqualify(ctx, giveawayID, disqualified, at); err != nil {
		return err
	}
	if err := q.AddWins(ctx, disqualified, -1); err != nil {
		return err
	}
	if err := q.MarkWinners(ctx, giveawayID, picks, at); err != nil {
		return err
	}
	return q.AddWins(ctx, pickUsers(picks), 1)
}

// checkCurrentWinners refuses users who are not current winners.
func checkCurrentWinners(r draw.Record, ids []int64) error {
	current := map[int64]bool{}
	for _, w := range r.CurrentWinners() {
		current[w.UserID] = true
	}
	for _, id := range ids {
		if !current[id] {
			return &Error{Code: CodeNotAWinner, Message: fmt.Sprintf("User %d is not a current winner of this giveaway.", id)}
		}
	}
	return nil
}

// legacyEntry is the legacy entry of a v1 record drawn before the log:
// the SHA-256 of its canonical JSON.
func legacyEntry(d Draw, h drawlog.Header) (drawlog.Entry, error) {
	b, err := json.Marshal(d.Record)
	if err != nil {
		return nil, err
	}
	sum, err := drawlog.RecordSHA256(b)
	if err != nil {
		return nil, err
	}
	return drawlog.Legacy{Header: h, RecordSHA256: sum}, nil
}

func sortedCopy(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// checkReasonsV2 refuses reasons outside v2's fixed set, listing it.
func checkReasonsV2(dq []draw.Disqualification) error {
	for _, d := range dq {
		if !d.Reason.Valid() {
			names := make([]string, 0, len(draw.Reasons()))
			for _, r := range draw.Reasons() {
				names = append(names, string(r))
			}
			var v Validation
			v.Add("reason", CodeInvalidReason, "%q is not a reason a %s winner can be disqualified for: use one of %s",
				d.Reason, draw.VersionV2, strings.Join(names, ", "))
			return v.Err()
		}
	}
	return nil
}

// redrawV2 requests a v2 redraw round, or finds the one already asked
// for, and finishes it.
func (s *Service) redrawV2(ctx context.Context, giveawayID int64, disq []draw.Disqualification) (RedrawResult, error) {
	if err := checkReasonsV2(disq); err != nil {
		return RedrawResult{}, err
	}
	chain, err := s.chain(ctx)
	if err != nil {
		return RedrawResult{}, err
	}
	dq := disqualifiedIDs(disq)
	var (
		out     RedrawResult
		pending *draw.Redraw
	)
	err = s.store.InTx(ctx, func(q Queries) error {
		out, pending = RedrawResult{}, nil
		d, err := q.EnsureDraw(ctx, giveawayID, Draw{}, LockExclusive)
		if errors.Is(err, ErrNotFound) {
			return errNotDrawn()
		}
		if err != nil {
			return err
		}
		if !d.V2() {
			return errWrongVersion
		}
		if d.Status != DrawDrawn {
			return errNotDrawn()
		}
		rec := d.Record
		for _, r := range rec.Replacements {
			if slices.Equal(disqualifiedIDs(r.Disqualified), dq) {
				out.Round, out.Record, out.AlreadyApplied = r, rec, true
				out.Winners, err = q.Winners(ctx, giveawayID)
				return err
			}
		}
		if p := d.PendingRedraw; p != nil {
			if slices.Equal(disqualifiedIDs(p.Disqualified), dq) {
				pending = p
				return nil
			}
			return Errorf(CodeRedrawInProgress, "Redraw round %d of this giveaway is waiting for its beacon; ask for another once it is drawn.", p.Round)
		}
		if err := checkCurrentWinners(rec, dq); err != nil {
			return err
		}
		rd, err := s.requestRound(ctx, q, &d, disq, chain)
		pending = &rd
		return err
	})
	if err != nil || pending == nil {
		return out, err
	}
	return s.finishRedraw(ctx, giveawayID, chain, *pending)
}

// requestRound requests the next v2 redraw round of the drawn d, whose row
// the transaction of q holds exclusively: it logs the round's
// redraw-request entry (its beacon round fixed from now) and saves d with
// the round pending.
func (s *Service) requestRound(ctx context.Context, q Queries, d *Draw, disq []draw.Disqualification, chain beacon.Chain) (draw.Redraw, error) {
	rec := d.Record
	last := rec.DrawnAt
	if n := len(rec.Replacements); n > 0 {
		last = rec.Replacements[n-1].RedrawnAt
	}
	rd, err := rec.RequestRedraw(disq, notBefore(s.nowSeconds(), last), chain)
	if err != nil {
		return draw.Redraw{}, fmt.Errorf("redraw giveaway %d: %w", d.GiveawayID, err)
	}
	e, err := rd.RequestEntry(rec.LogHeader(len(rec.Log)))
	if err != nil {
		return draw.Redraw{}, fmt.Errorf("redraw giveaway %d: %w", d.GiveawayID, err)
	}
	idx, err := appendEntry(ctx, q, d, e)
	if err != nil {
		return draw.Redraw{}, err
	}
	rec.Log = append(rec.Log, draw.LogRef{Type: drawlog.TypeRedrawRequest, Index: idx})
	d.Record, d.PendingRedraw, d.BeaconAt = rec, &rd, chain.RoundTime(rd.BeaconRound)
	return rd, q.SaveDraw(ctx, *d)
}

// attestRound has the request of the pending v2 round rd attested by the
// witnesses, unless it is attested already or no longer pending, and
// keeps the attestation with the draw at once. It returns the draw as it
// read it, and the attestation (nil when none was made now).
func (s *Service) attestRound(ctx context.Context, giveawayID int64, chain beacon.Chain, rd draw.Redraw) (Draw, *draw.Attestation, error) {
	d, err := s.store.Draw(ctx, giveawayID)
	if err != nil {
		return Draw{}, nil, err
	}
	p := d.PendingRedraw
	if p == nil || p.Round != rd.Round || p.RequestAttestation != nil {
		return d, nil, nil
	}
	j := len(d.Record.Log) - 1
	if j < 0 || d.Record.Log[j].Type != drawlog.TypeRedrawRequest {
		return Draw{}, nil, fmt.Errorf("giveaway %d: the pending round's request is not the record's last log entry", giveawayID)
	}
	att, err := s.attestEntry(ctx, "redraw", giveawayID, d.Record.Log[j].Index, chain.RoundTime(rd.BeaconRound))
	if err != nil || att == nil {
		return d, nil, err
	}
	err = s.keepAttestation(ctx, giveawayID, func(d *Draw) bool {
		if p := d.PendingRedraw; p == nil || p.Round != rd.Round || p.RequestAttestation != nil {
			return false
		}
		d.PendingRedraw.RequestAttestation = att
		return true
	})
	return d, att, err
}

// finishRedraw attests a requested v2 round, waits for its beacon and
// draws its replacements in a transaction that finds it still pending (or
// returns the round another call drew).
func (s *Service) finishRedraw(ctx context.Context, giveawayID int64, chain beacon.Chain, rd draw.Redraw) (RedrawResult, error) {
	d, att, err := s.attestRound(ctx, giveawayID, chain, rd)
	if err != nil {
		return RedrawResult{}, err
	}
	var sig []byte
	if d.PendingRedraw != nil && d.PendingRedraw.Round == rd.Round {
		b, err := s.waitBeacon(ctx, chain, rd.BeaconRound)
		if err != nil {
			return RedrawResult{}, err
		}
		sig = b.Signature
	}
	var out RedrawResult
	err = s.store.InTx(ctx, func(q Queries) error {
		out = RedrawResult{}
		d, err := q.EnsureDraw(ctx, giveawayID, Draw{}, LockExclusive)
		if err != nil {
			return err
		}
		rec := d.Record
		if p := d.PendingRedraw; p == nil || p.Round != rd.Round {
			if n := int(rd.Round); n >= 1 && n <= len(rec.Replacements) {
				out.Round, out.Record, out.AlreadyApplied = rec.Replacements[n-1], rec, true
				out.Winners, err = q.Winners(ctx, giveawayID)
				return err
			}
			return fmt.Errorf("giveaway %d: redraw round %d is neither pending nor drawn", giveawayID, rd.Round)
		}
		if sig == nil {
			return fmt.Errorf("giveaway %d: redraw round %d became pending again", giveawayID, rd.Round)
		}
		tree, err := readTree(ctx, q, d)
		if err != nil {
			return err
		}
		req := *d.PendingRedraw
		if att != nil && req.RequestAttestation == nil {
			req.RequestAttestation = att
		}
		done, err := rec.CompleteRedraw(req, draw.RedrawInput{Entrants: tree, BeaconSignature: sig,
			RedrawnAt: notBefore(s.nowSeconds(), req.RequestedAt), Chain: chain})
		if err != nil {
			if isBeaconError(err) {
				return beaconUnavailable(req.BeaconRound, chain, s.opts.Now(), err)
			}
			return fmt.Errorf("redraw giveaway %d: %w", giveawayID, err)
		}
		rec.Replacements = append(rec.Replacements, done)
		e, err := rec.RedrawEntry(rec.LogHeader(len(rec.Log)), len(rec.Replacements))
		if err != nil {
			return fmt.Errorf("redraw giveaway %d: %w", giveawayID, err)
		}
		var picks []draw.Pick
		for _, p := range done.Replacements {
			if !p.Empty() {
				picks = append(picks, draw.Pick{Position: p.Position, UserID: p.UserID, Index: p.Index})
			}
		}
		if err := s.replaceWinners(ctx, q, giveawayID, disqualifiedIDs(done.Disqualified), picks, done.RedrawnAt); err != nil {
			return err
		}
		idx, err := appendEntry(ctx, q, &d, e)
		if err != nil {
			return err
		}
		rec.Log = append(rec.Log, draw.LogRef{Type: drawlog.TypeRedraw, Index: idx})
		d.Record, d.PendingRedraw, d.BeaconAt = rec, nil, time.Time{}
		if rec.Recheck != nil {
			// The replacements are still to be checked.
			d.Record.Recheck, d.BeaconAt = recheckDue(rec, s.opts.Now())
		}
		if err := q.SaveDraw(ctx, d); err != nil {
			return err
		}
		out.Round, out.Record = done, d.Record
		out.Winners, err = q.Winners(ctx, giveawayID)
		return err
	})
	return out, err
}
