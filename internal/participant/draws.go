package participant

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// MaxBeaconBytes bounds the caller's public randomness.
const MaxBeaconBytes = 512

// MaxReasonLength bounds a redraw reason, in characters.
const MaxReasonLength = 500

// SelectRequest asks for a giveaway's winners.
type SelectRequest struct {
	// WinnerCount is how many winners to draw; 0 means "as many as the
	// giveaway service says", which needs that service configured.
	WinnerCount int
	// Beacon is optional public randomness, hex encoded: v1 only, since a
	// v2 draw takes its randomness from a drand round.
	Beacon string
}

// Selection is the result of a draw, identical on every call.
type Selection struct {
	Winners           []Winner
	TotalParticipants int64
	Requested         int
	Selected          int
	Method            string
	Timestamp         time.Time
	Record            draw.Record
	AlreadySelected   bool
	// Recheck is the draw-time re-check of the winners (recheck_at_draw),
	// nil when the rules ask for none.
	Recheck *RecheckSummary
}

// errWrongVersion says the draw row was committed under the other version
// than the one a call set out with: a replica with other settings created
// it in between. The call starts again.
var errWrongVersion = errors.New("the draw's version changed under the call")

// SelectWinners draws the giveaway's winners once, under the protocol the
// giveaway was committed with (a giveaway seen here for the first time is
// committed now, under Options.DrawVersion).
//
// v1 draws in one transaction. The draw row is locked exclusively, so
// among concurrent calls on any number of replicas exactly one draws and
// every other call returns its result with AlreadySelected.
//
// v2 freezes the entrants in one transaction (the freeze entry is logged,
// registration closes, the beacon round is fixed), has the freeze
// attested by the witnesses without holding a transaction, waits for the
// beacon round, and draws in a second transaction, where again exactly one
// call draws. A call that stops anywhere between (a crash, a timeout, an
// unavailable beacon: BEACON_UNAVAILABLE) is resumed by the next call, or
// by FinishPendingDraws, with the same entrants and the same round.
//
// When the rules ask for it (recheck_at_draw), a v2 draw's winners are
// then checked again, and those who fail replaced, as recheck.go
// describes; a call that leaves the re-check pending (a round waiting for
// its beacon, winners Telegram could not be asked about) says so in
// Selection.Recheck, and the next call goes on with it.
func (s *Service) SelectWinners(ctx context.Context, giveawayID int64, req SelectRequest) (Selection, error) {
	var v Validation
	checkID(&v, "giveaway_id", giveawayID)
	if req.WinnerCount < 0 || req.WinnerCount > s.opts.MaxWinners {
		v.Add("winner_count", CodeInvalidWinnerCount, "winner_count must be between 1 and %d", s.opts.MaxWinners)
	}
	randomness, err := hex.DecodeString(req.Beacon)
	if err != nil || len(randomness) > MaxBeaconBytes || strings.ToLower(req.Beacon) != req.Beacon {
		v.Add("beacon", CodeInvalidBeacon, "beacon must be lowercase hex of at most %d bytes", MaxBeaconBytes)
	}
	if err := v.Err(); err != nil {
		return Selection{}, err
	}
	if req.WinnerCount == 0 {
		if s.giveaways == nil {
			v.Add("winner_count", CodeMissingWinnerCount, "winner_count is required")
			return Selection{}, v.Err()
		}
		g, err := s.giveaways.Giveaway(ctx, giveawayID)
		if err != nil {
			return Selection{}, err
		}
		req.WinnerCount = min(max(g.WinnerCount, 1), s.opts.MaxWinners)
	}
	for range 2 {
		version, err := s.versionOf(ctx, giveawayID)
		if err != nil {
			return Selection{}, err
		}
		var out Selection
		if version == draw.VersionV2 {
			if len(randomness) > 0 {
				v.Add("beacon", CodeInvalidBeacon, "beacon is not taken by a %s draw, whose randomness is a drand round fixed at the freeze", draw.VersionV2)
				return Selection{}, v.Err()
			}
			out, err = s.selectV2(ctx, giveawayID, req.WinnerCount)
		} else {
			out, err = s.selectV1(ctx, giveawayID, req.WinnerCount, randomness)
		}
		if errors.Is(err, errWrongVersion) {
			continue
		}
		if err != nil {
			return Selection{}, err
		}
		return s.withRecheck(ctx, giveawayID, out)
	}
	return Selection{}, fmt.Errorf("giveaway %d: its draw's version keeps changing", giveawayID)
}

// versionOf returns the giveaway's protocol version: its commit's, or the
// one a new giveaway gets.
func (s *Service) versionOf(ctx context.Context, giveawayID int64) (string, error) {
	d, err := s.store.Draw(ctx, giveawayID)
	switch {
	case errors.Is(err, ErrNotFound):
		return s.opts.DrawVersion, nil
	case err != nil:
		return "", err
	}
	return d.Version, nil
}

// selectV1 is the v1 draw: one transaction that also logs the freeze and
// the draw (and the commit of a giveaway committed before the log).
func (s *Service) selectV1(ctx context.Context, giveawayID int64, winnerCount int, randomness []byte) (Selection, error) {
	fresh, err := s.freshDraw(ctx, giveawayID, draw.Version)
	if err != nil {
		return Selection{}, err
	}
	var out Selection
	err = s.store.InTx(ctx, func(q Queries) error {
		d, err := s.ensureDraw(ctx, q, giveawayID, fresh, LockExclusive)
		if err != nil {
			return err
		}
		if d.V2() {
			return errWrongVersion
		}
		if d.Status == DrawDrawn {
			out, err = selection(ctx, q, d)
			out.AlreadySelected = true
			return err
		}
		entrants, err := q.EligibleEntrants(ctx, giveawayID, s.opts.RequireSubscription)
		if err != nil {
			return err
		}
		rec, tree, err := draw.DrawCached(draw.Input{
			GiveawayID:  giveawayID,
			ServerSeed:  d.ServerSeed,
			CommittedAt: d.CommittedAt,
			DrawnAt:     notBefore(s.nowSeconds(), d.CommittedAt),
			Entrants:    entrants,
			Beacon:      randomness,
			WinnerCount: uint64(winnerCount),
		})
		if err != nil {
			return fmt.Errorf("draw giveaway %d: %w", giveawayID, err)
		}
		if err := q.MarkWinners(ctx, giveawayID, rec.Winners, rec.DrawnAt); err != nil {
			return err
		}
		if err := q.AddWins(ctx, pickUsers(rec.Winners), 1); err != nil {
			return err
		}
		if d.LogSeq == 0 {
			if err := appendBuilt(ctx, q, &d, func(h drawlog.Header) (drawlog.Entry, error) { return commitEntry(d) }); err != nil {
				return err
			}
		}
		if err := appendBuilt(ctx, q, &d, func(h drawlog.Header) (drawlog.Entry, error) { return rec.FreezeEntry(h) }); err != nil {
			return err
		}
		if err := appendBuilt(ctx, q, &d, func(h drawlog.Header) (drawlog.Entry, error) { return rec.DrawEntry(h) }); err != nil {
			return err
		}
		d.Status, d.Record, d.Tree, d.RequireSubscription = DrawDrawn, rec, &tree, s.opts.RequireSubscription
		if err := q.SaveDraw(ctx, d); err != nil {
			return err
		}
		out, err = selection(ctx, q, d)
		return err
	})
	if err == nil && !out.AlreadySelected && s.giveaways != nil {
		s.giveaways.Invalidate(ctx, giveawayID)
	}
	return out, err
}

// appendBuilt appends the entry build makes with the header of d's next
// entry.
func appendBuilt(ctx context.Context, q Queries, d *Draw, build func(drawlog.Header) (drawlog.Entry, error)) error {
	e, err := build(header(*d))
	if err != nil {
		return fmt.Errorf("giveaway %d: %w", d.GiveawayID, err)
	}
	_, err = appendEntry(ctx, q, d, e)
	return err
}

// notBefore returns t, or the first whole second at or after floor when t
// is earlier (a clock behind another replica's, or a commitment with
// fractions of a second).
func notBefore(t, floor time.Time) time.Time {
	if !t.Before(floor) {
		return t
	}
	c := floor.UTC().Truncate(time.Second)
	if c.Before(floor) {
		c = c.Add(time.Second)
	}
	return c
}

// selectV2 freezes a committed v2 draw (step a) and finishes it.
func (s *Service) selectV2(ctx context.Context, giveawayID int64, winnerCount int) (Selection, error) {
	chain, err := s.chain(ctx)
	if err != nil {
		return Selection{}, err
	}
	fresh, err := s.freshDraw(ctx, giveawayID, draw.VersionV2)
	if err != nil {
		return Selection{}, err
	}
	var (
		out    Selection
		d      Draw
		tree   *draw.SumTree
		done   bool
		frozen bool
	)
	err = s.store.InTx(ctx, func(q Queries) error {
		out, tree, done, frozen = Selection{}, nil, false, false
		locked, err := s.ensureDraw(ctx, q, giveawayID, fresh, LockExclusive)
		if err != nil {
			return err
		}
		d = locked
		if !d.V2() {
			return errWrongVersion
		}
		switch d.Status {
		case DrawDrawn:
			out, err = selection(ctx, q, d)
			out.AlreadySelected, done = true, true
			return err
		case DrawFrozen:
			return nil
		}
		tree, err = s.freeze(ctx, q, &d, winnerCount, chain)
		frozen = err == nil
		return err
	})
	if err != nil || done {
		return out, err
	}
	if frozen && s.giveaways != nil {
		s.giveaways.Invalidate(ctx, giveawayID)
	}
	return s.finishDraw(ctx, d, chain, tree)
}

// freeze is step a of a v2 draw, in the transaction of q that holds the
// draw row exclusively: it reads the eligible entrants with their tickets,
// builds their sum tree, freezes the record (frozen_at now, the beacon
// round fixed), logs the freeze entry and saves the record and the tree
// cache. It returns the tree, so that the same call need not read the
// entrants again.
func (s *Service) freeze(ctx context.Context, q Queries, d *Draw, winnerCount int, chain beacon.Chain) (*draw.SumTree, error) {
	// The tree is hashed as the entrants stream in.
	var b draw.SumTreeBuilder
	if err := q.ScanEntrantTickets(ctx, d.GiveawayID, s.opts.RequireSubscription, b.Add); err != nil {
		return nil, err
	}
	tree, err := b.Tree()
	if err != nil {
		return nil, fmt.Errorf("freeze giveaway %d: %w", d.GiveawayID, err)
	}
	rec := d.Record
	if len(rec.Log) == 0 {
		if d.LogSeq != 1 || d.LogLast == nil {
			return nil, fmt.Errorf("freeze giveaway %d: it has %d log entries, expected its commit alone", d.GiveawayID, d.LogSeq)
		}
		rec.Log = []draw.LogRef{{Type: drawlog.TypeCommit, Index: *d.LogLast}}
	}
	rec, err = rec.Freeze(draw.FreezeInput{Entrants: tree, WinnerCount: uint64(winnerCount),
		FrozenAt: notBefore(s.nowSeconds(), rec.CommittedAt), Chain: chain})
	if err != nil {
		return nil, fmt.Errorf("freeze giveaway %d: %w", d.GiveawayID, err)
	}
	e, err := rec.FreezeEntry(rec.LogHeader(len(rec.Log)))
	if err != nil {
		return nil, fmt.Errorf("freeze giveaway %d: %w", d.GiveawayID, err)
	}
	idx, err := appendEntry(ctx, q, d, e)
	if err != nil {
		return nil, err
	}
	rec.Log = append(rec.Log, draw.LogRef{Type: drawlog.TypeFreeze, Index: idx})
	cache := tree.Cache()
	d.Status, d.Record, d.SumTree, d.RequireSubscription = DrawFrozen, rec, &cache, s.opts.RequireSubscription
	d.BeaconAt = rec.BeaconRoundTime(chain)
	return tree, q.SaveDraw(ctx, *d)
}

// finishDraw runs steps b to d of a frozen v2 draw: attest the freeze,
// wait for the beacon round, and draw in a transaction that finds the draw
// still frozen (or returns the draw another call made since). d is the
// draw as the caller's last read found it, frozen, which spares reading it
// again; tree is the frozen entrants' tree when the caller has it, nil to
// read it again.
func (s *Service) finishDraw(ctx context.Context, d Draw, chain beacon.Chain, tree *draw.SumTree) (Selection, error) {
	giveawayID := d.GiveawayID
	if d.Status != DrawFrozen || !d.V2() {
		return Selection{}, fmt.Errorf("giveaway %d: cannot finish a %s draw with status %s", giveawayID, d.Version, d.Status)
	}
	rec := d.Record
	var (
		att *draw.Attestation
		err error
	)
	if rec.EntrantsCount > 0 && !rec.FreezeAttested {
		j := len(rec.Log) - 1
		if j < 0 || rec.Log[j].Type != drawlog.TypeFreeze {
			return Selection{}, fmt.Errorf("giveaway %d: the frozen record's last log entry is not its freeze", giveawayID)
		}
		if att, err = s.attestEntry(ctx, "freeze", giveawayID, rec.Log[j].Index, rec.BeaconRoundTime(chain)); err != nil {
			return Selection{}, err
		}
	}
	// Without an attestation (no witnesses, or none in time) there is
	// nothing to keep, and no transaction is spent on it.
	if att != nil {
		if err := s.keepAttestation(ctx, giveawayID, func(d *Draw) bool {
			if d.Status != DrawFrozen || d.Record.FreezeAttested {
				return false
			}
			d.Record.FreezeAttested, d.Record.FreezeAttestation = true, att
			return true
		}); err != nil {
			return Selection{}, err
		}
	}
	// With no entrants there is nothing to choose, so no beacon is
	// awaited.
	var sig []byte
	if rec.EntrantsCount > 0 {
		b, err := s.waitBeacon(ctx, chain, rec.BeaconRound)
		if err != nil {
			return Selection{}, err
		}
		sig = b.Signature
	}
	var out Selection
	err = s.store.InTx(ctx, func(q Queries) error {
		out = Selection{}
		d, err := q.EnsureDraw(ctx, giveawayID, Draw{}, LockExclusive)
		if err != nil {
			return err
		}
		switch d.Status {
		case DrawDrawn:
			out, err = selection(ctx, q, d)
			out.AlreadySelected = true
			return err
		case DrawFrozen:
		default:
			return fmt.Errorf("giveaway %d: a frozen draw is %s now", giveawayID, d.Status)
		}
		t := tree
		if t == nil {
			if t, err = readTree(ctx, q, d); err != nil {
				return err
			}
		}
		rec := d.Record
		if att != nil && !rec.FreezeAttested {
			rec.FreezeAttested, rec.FreezeAttestation = true, att
		}
		rec, err = rec.DrawWinners(draw.DrawInput{ServerSeed: d.ServerSeed, Entrants: t, BeaconSignature: sig,
			DrawnAt: notBefore(s.nowSeconds(), rec.FrozenAt), Chain: chain})
		if err != nil {
			if isBeaconError(err) {
				return beaconUnavailable(rec.BeaconRound, chain, s.opts.Now(), err)
			}
			return fmt.Errorf("draw giveaway %d: %w", giveawayID, err)
		}
		if err := q.MarkWinners(ctx, giveawayID, rec.Winners, rec.DrawnAt); err != nil {
			return err
		}
		if err := q.AddWins(ctx, pickUsers(rec.Winners), 1); err != nil {
			return err
		}
		e, err := rec.DrawEntry(rec.LogHeader(len(rec.Log)))
		if err != nil {
			return fmt.Errorf("draw giveaway %d: %w", giveawayID, err)
		}
		idx, err := appendEntry(ctx, q, &d, e)
		if err != nil {
			return err
		}
		rec.Log = append(rec.Log, draw.LogRef{Type: drawlog.TypeDraw, Index: idx})
		d.Status, d.Record, d.BeaconAt = DrawDrawn, rec, time.Time{}
		recheck, err := s.recheckAsked(ctx, q, d)
		if err != nil {
			return err
		}
		if recheck {
			// The winners are drawn and still to be checked, in the same
			// transaction, so that no crash can lose the check.
			d.Record.Recheck, d.BeaconAt = recheckDue(d.Record, s.opts.Now())
		}
		if err := q.SaveDraw(ctx, d); err != nil {
			return err
		}
		out, err = selection(ctx, q, d)
		return err
	})
	return out, err
}

// keepAttestation saves an attestation with the draw the moment the
// witnesses give it, in a transaction of its own that holds the draw row:
// once the round's time is near, cosigning in time is no longer possible,
// so an attestation held only in memory would be lost to a beacon outage
// or a crash before the draw. set applies it to the draw and reports
// whether anything changed.
func (s *Service) keepAttestation(ctx context.Context, giveawayID int64, set func(*Draw) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(q Queries) error {
		d, err := q.EnsureDraw(ctx, giveawayID, Draw{}, LockExclusive)
		if err != nil || !set(&d) {
			return err
		}
		return q.SaveDraw(ctx, d)
	})
}

// readTree reads a frozen v2 draw's entrants again and builds their tree;
// the record's root check (in DrawWinners, CompleteRedraw and the proofs)
// refuses a list that changed.
func readTree(ctx context.Context, q DrawQueries, d Draw) (*draw.SumTree, error) {
	var b draw.SumTreeBuilder
	if err := q.ScanEntrantTickets(ctx, d.GiveawayID, d.RequireSubscription, b.Add); err != nil {
		return nil, err
	}
	t, err := b.Tree()
	if err != nil {
		return nil, fmt.Errorf("giveaway %d: the frozen entrants: %w", d.GiveawayID, err)
	}
	return t, nil
}

// attestEntry has the log entry at index attested by the witnesses before
// the beacon round's time minus the cosignature margin, and returns the
// attestation, or nil when there are no witnesses or their quorum did not
// cosign in time, which is logged and reported.
func (s *Service) attestEntry(ctx context.Context, kind string, giveawayID int64, index uint64, roundTime time.Time) (*draw.Attestation, error) {
	a, err := s.Attest(ctx, index+1, roundTime.Add(-draw.CosignatureMargin))
	if err != nil {
		return nil, err
	}
	event := AttestationEvent{Kind: kind, GiveawayID: giveawayID, Attested: a.Attested, Reason: a.Reason}
	if s.opts.OnAttestation != nil {
		defer s.opts.OnAttestation(event)
	}
	if !a.Attested {
		if len(s.log.verifiers) > 0 {
			s.opts.Logger.Warn("the witnesses did not attest the draw's entry in time; its record will say it is not attested",
				"giveaway_id", giveawayID, "entry", kind, "log_index", index, "reason", a.Reason)
		}
		return nil, nil
	}
	path, err := s.store.LogInclusionProof(ctx, index, a.TreeSize)
	if err != nil {
		return nil, err
	}
	hashes := make([]draw.Hash, len(path))
	for i, h := range path {
		hashes[i] = draw.Hash(h)
	}
	return &draw.Attestation{Checkpoint: a.Checkpoint, LeafIndex: index, TreeSize: a.TreeSize, AuditPath: hashes}, nil
}

// beaconMargin is how long before the caller's deadline a beacon wait
// gives up, so that the caller still hears BEACON_UNAVAILABLE.
const beaconMargin = time.Second

// waitBeacon waits for round's beacon through the beacon source, no longer
// than the context's deadline minus beaconMargin, and checks it again
// against the chain. Every failure is BEACON_UNAVAILABLE: a beacon whose
// signature does not verify is never used.
func (s *Service) waitBeacon(ctx context.Context, chain beacon.Chain, round uint64) (beacon.Beacon, error) {
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-beaconMargin))
		defer cancel()
		if at := chain.RoundTime(round); dl.Add(-beaconMargin).Before(at) {
			return beacon.Beacon{}, beaconUnavailable(round, chain, s.opts.Now(),
				fmt.Errorf("round %d is published at %s, after the request's deadline", round, at.Format(time.RFC3339)))
		}
	}
	b, err := s.opts.Beacons.Wait(ctx, round)
	if err == nil && b.Round != round {
		err = fmt.Errorf("the beacon source gave round %d for round %d", b.Round, round)
	}
	if err == nil {
		err = chain.VerifyBeacon(b)
	}
	if err != nil {
		s.opts.Logger.Warn("the drand beacon a draw waits for is unavailable", "round", round, "error", err)
		return beacon.Beacon{}, beaconUnavailable(round, chain, s.opts.Now(), err)
	}
	return b, nil
}

// isBeaconError reports whether err is a beacon that failed verification.
func isBeaconError(err error) bool {
	for _, e := range []error{beacon.ErrSignatureLength, beacon.ErrSignaturePoint, beacon.ErrSignatureIdentity,
		beacon.ErrSignatureNotCanonical, beacon.ErrSignatureMismatch} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// beaconUnavailable is the BEACON_UNAVAILABLE error for round, retried
// once the round is out, and a few seconds later at least.
func beaconUnavailable(round uint64, chain beacon.Chain, now time.Time, cause error) error {
	retry := max(chain.RoundTime(round).Sub(now), 0) + 2*time.Second
	return &Error{
		Code: CodeBeaconUnavailable,
		Message: fmt.Sprintf("The drand beacon round %d that decides this draw is not available yet. The entrants are frozen "+
			"and the draw will use this same round: please try again shortly.", round),
		RetryAfter: retry.Round(time.Second),
		Err:        cause,
	}
}

// chain returns the beacon source's chain, which v2 needs.
func (s *Service) chain(ctx context.Context) (beacon.Chain, error) {
	if s.opts.Beacons == nil {
		return beacon.Chain{}, fmt.Errorf("%s needs a beacon source, and none is configured", draw.VersionV2)
	}
	c, err := s.opts.Beacons.Chain(ctx)
	if err != nil {
		return beacon.Chain{}, &Error{Code: CodeBeaconUnavailable, Message: "The drand chain's information is not available.",
			RetryAfter: 5 * time.Second, Err: err}
	}
	return c, nil
}

// finishLease is how long a replica that claimed a pending draw has to
// finish it before another may.
const finishLease = 30 * time.Second

// finishBatch is how many pending draws one FinishPendingDraws call claims.
const finishBatch = 10

// FinishPendingDraws finishes v2 draws and redraw rounds whose beacon
// round is published but whose call stopped before drawing (a crash, a
// timeout, an unavailable beacon), and goes on with draw-time re-checks
// left pending (recheck.go): for a background loop on every replica,
// every few seconds. Each is claimed with a lease, the claim skipping rows
// another replica is claiming, so one replica finishes it; if that one
// fails, another takes over when the lease ends. It returns how many it
// finished.
func (s *Service) FinishPendingDraws(ctx context.Context) (int, error) {
	now := s.opts.Now()
	ids, err := s.store.ClaimPendingDraws(ctx, now, now.Add(finishLease), finishBatch)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	chain, err := s.chain(ctx)
	if err != nil {
		return 0, err
	}
	var errs []error
	done := 0
	for _, id := range ids {
		d, err := s.store.Draw(ctx, id)
		switch {
		case err != nil:
		case d.Status == DrawFrozen:
			_, err = s.finishDraw(ctx, d, chain, nil)
		case d.PendingRedraw != nil:
			_, err = s.finishRedraw(ctx, id, chain, *d.PendingRedraw)
		case d.Record.Recheck != nil:
			// A re-check is due again: winners still unchecked, or
			// replacements a round drew.
		default:
			continue
		}
		if err == nil {
			// Without waiting for beacons: a round the re-check requests
			// is claimed again once its beacon is out.
			err = s.continueRecheck(ctx, id, chain, false)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("giveaway %d: %w", id, err))
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}

func selection(ctx context.Context, q DrawQueries, d Draw) (Selection, error) {
	winners, err := q.Winners(ctx, d.GiveawayID)
	if err != nil {
		return Selection{}, err
	}
	return Selection{
		Winners:           winners,
		TotalParticipants: int64(d.Record.EntrantsCount),
		Requested:         int(d.Record.WinnerCountRequested),
		Selected:          len(winners),
		Method:            d.Record.Version,
		Timestamp:         d.Record.DrawnAt,
		Record:            d.Record,
	}, nil
}

func pickUsers(picks []draw.Pick) []int64 {
	ids := make([]int64, len(picks))
	for i, p := range picks {
		ids[i] = p.UserID
	}
	return ids
}

// freshDraw prepares the commitment a giveaway gets when it first appears,
// under the given version: a v2 commitment also fixes the chain and the
// beacon delay, and max_tickets 1 with no rules until ensureDraw, in the
// transaction that creates the draw, puts in the giveaway's rules.
func (s *Service) freshDraw(ctx context.Context, giveawayID int64, version string) (Draw, error) {
	seed := make([]byte, 32)
	if _, err := io.ReadFull(s.opts.Random, seed); err != nil {
		return Draw{}, fmt.Errorf("draw seed: %w", err)
	}
	d := Draw{
		GiveawayID:  giveawayID,
		Status:      DrawCommitted,
		ServerSeed:  seed,
		Commitment:  draw.Commitment(seed),
		CommittedAt: s.nowSeconds(),
		Version:     version,
	}
	if version != draw.VersionV2 {
		return d, nil
	}
	chain, err := s.chain(ctx)
	if err != nil {
		return Draw{}, err
	}
	d.Record, err = draw.Commit(draw.CommitInput{GiveawayID: giveawayID, ServerSeed: seed, CommittedAt: d.CommittedAt,
		Chain: chain, BeaconDelay: uint64(s.opts.BeaconDelay / time.Second), MaxTickets: 1})
	if err != nil {
		return Draw{}, fmt.Errorf("commit giveaway %d: %w", giveawayID, err)
	}
	return d, nil
}

// ensureDraw returns the giveaway's draw locked in mode, creating it from
// fresh when the giveaway is new; the draw this call creates commits the
// giveaway's rules (v2) and has its commit entry logged in the same
// transaction.
func (s *Service) ensureDraw(ctx context.Context, q Queries, giveawayID int64, fresh Draw, mode LockMode) (Draw, error) {
	d, err := q.EnsureDraw(ctx, giveawayID, fresh, mode)
	if err != nil {
		return Draw{}, err
	}
	if fresh.ServerSeed != nil && d.Commitment == fresh.Commitment && d.LogSeq == 0 {
		if d.V2() {
			if err := s.commitRules(ctx, q, &d); err != nil {
				return Draw{}, err
			}
		}
		if err := appendBuilt(ctx, q, &d, func(drawlog.Header) (drawlog.Entry, error) { return commitEntry(d) }); err != nil {
			return Draw{}, err
		}
	}
	return d, nil
}

// commitRules puts the giveaway's rules into the v2 commitment this
// transaction has just created: their SHA-256 and their max_tickets. The
// rules are read after the draw row exists, whose insert has locked them
// (a trigger), on Postgres after waiting for a change of them still in
// flight, so they are the rules that hold from now on. Without rules set
// the commitment stays as it was: rules_sha256 null, max_tickets 1.
func (s *Service) commitRules(ctx context.Context, q Queries, d *Draw) error {
	g, err := s.rulesOf(ctx, q, d.GiveawayID)
	if err != nil || !g.Custom {
		return err
	}
	if g.Rules.MaxTickets < 1 {
		return fmt.Errorf("commit giveaway %d: its rules allow %d tickets", d.GiveawayID, g.Rules.MaxTickets)
	}
	sum := draw.Hash(g.SHA256)
	d.Record.RulesSHA256, d.Record.MaxTickets = &sum, uint64(g.Rules.MaxTickets)
	return q.SaveDraw(ctx, *d)
}

// CommitDraw publishes the giveaway's commitment ahead of any registration,
// so the giveaway post can carry it, and logs its commit entry. It is
// idempotent; the version is Options.DrawVersion, fixed from now on.
func (s *Service) CommitDraw(ctx context.Context, giveawayID int64) (Draw, error) {
	if !ValidID(giveawayID) {
		return Draw{}, invalidID("giveaway_id")
	}
	fresh, err := s.freshDraw(ctx, giveawayID, s.opts.DrawVersion)
	if err != nil {
		return Draw{}, err
	}
	var d Draw
	err = s.store.InTx(ctx, func(q Queries) error {
		d, err = s.ensureDraw(ctx, q, giveawayID, fresh, LockShared)
		return err
	})
	return d, err
}

// DrawRecord returns the giveaway's draw: the commitment before the draw,
// the full record after it.
func (s *Service) DrawRecord(ctx context.Context, giveawayID int64) (Draw, error) {
	if !ValidID(giveawayID) {
		return Draw{}, invalidID("giveaway_id")
	}
	d, err := s.store.Draw(ctx, giveawayID)
	if errors.Is(err, ErrNotFound) {
		return Draw{}, Errorf(CodeDrawNotFound, "No draw exists for this giveaway yet.")
	}
	return d, err
}

// drawn returns the giveaway's draw, which must have happened.
func (s *Service) drawn(ctx context.Context, giveawayID int64) (Draw, error) {
	d, err := s.DrawRecord(ctx, giveawayID)
	if err != nil {
		return Draw{}, err
	}
	if d.Status != DrawDrawn {
		return Draw{}, errNotDrawn()
	}
	return d, nil
}

// frozen returns the giveaway's draw, whose entrants must be fixed: a
// drawn draw, or a frozen v2 one.
func (s *Service) frozen(ctx context.Context, giveawayID int64) (Draw, error) {
	d, err := s.DrawRecord(ctx, giveawayID)
	if err != nil {
		return Draw{}, err
	}
	if d.Status != DrawDrawn && d.Status != DrawFrozen {
		return Draw{}, errNotDrawn()
	}
	return d, nil
}

func errNotDrawn() error {
	return Errorf(CodeDrawNotCompleted, "The winners of this giveaway have not been drawn yet.")
}
