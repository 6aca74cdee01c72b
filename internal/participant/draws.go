package participant

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
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
	// Beacon is optional public randomness, hex encoded.
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
}

// SelectWinners draws the giveaway's winners once. The draw row is locked
// exclusively, so among concurrent calls on any number of replicas exactly
// one draws and every other call returns its result with AlreadySelected.
func (s *Service) SelectWinners(ctx context.Context, giveawayID int64, req SelectRequest) (Selection, error) {
	var v Validation
	checkID(&v, "giveaway_id", giveawayID)
	if req.WinnerCount < 0 || req.WinnerCount > s.opts.MaxWinners {
		v.Add("winner_count", CodeInvalidWinnerCount, "winner_count must be between 1 and %d", s.opts.MaxWinners)
	}
	beacon, err := hex.DecodeString(req.Beacon)
	if err != nil || len(beacon) > MaxBeaconBytes || strings.ToLower(req.Beacon) != req.Beacon {
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
	fresh, err := s.freshDraw(giveawayID)
	if err != nil {
		return Selection{}, err
	}
	var out Selection
	err = s.store.InTx(ctx, func(q Queries) error {
		d, err := q.EnsureDraw(ctx, giveawayID, fresh, LockExclusive)
		if err != nil {
			return err
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
		now := s.now()
		rec, tree, err := draw.DrawCached(draw.Input{
			GiveawayID:  giveawayID,
			ServerSeed:  d.ServerSeed,
			CommittedAt: d.CommittedAt,
			DrawnAt:     now,
			Entrants:    entrants,
			Beacon:      beacon,
			WinnerCount: uint64(req.WinnerCount),
		})
		if err != nil {
			return fmt.Errorf("draw giveaway %d: %w", giveawayID, err)
		}
		if err := q.MarkWinners(ctx, giveawayID, rec.Winners, now); err != nil {
			return err
		}
		if err := q.AddWins(ctx, pickUsers(rec.Winners), 1); err != nil {
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
		Method:            draw.Version,
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

// freshDraw prepares the commitment a giveaway gets when it first appears.
func (s *Service) freshDraw(giveawayID int64) (Draw, error) {
	seed := make([]byte, 32)
	if _, err := io.ReadFull(s.opts.Random, seed); err != nil {
		return Draw{}, fmt.Errorf("draw seed: %w", err)
	}
	return Draw{
		GiveawayID:  giveawayID,
		Status:      DrawCommitted,
		ServerSeed:  seed,
		Commitment:  draw.Commitment(seed),
		CommittedAt: s.now(),
	}, nil
}

// RedrawRequest disqualifies winners and asks for replacements.
type RedrawRequest struct {
	DisqualifiedUserIDs []int64
	Reason              string
}

// RedrawResult is one redraw round and the winners after it.
type RedrawResult struct {
	Round          draw.Redraw
	Winners        []Winner
	Record         draw.Record
	AlreadyApplied bool
}

// Redraw replaces disqualified winners by continuing the draw's
// permutation, so the replacement is as verifiable as the draw. Repeating
// the same request returns the round it already made.
func (s *Service) Redraw(ctx context.Context, giveawayID int64, req RedrawRequest) (RedrawResult, error) {
	var v Validation
	checkID(&v, "giveaway_id", giveawayID)
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case len(req.DisqualifiedUserIDs) == 0:
		v.Add("disqualified_user_ids", CodeMissingDisqualifiedUserIDs, "disqualified_user_ids must list at least one user")
	case len(req.DisqualifiedUserIDs) > s.opts.MaxWinners:
		v.Add("disqualified_user_ids", CodeInvalidDisqualifiedUserIDs, "disqualified_user_ids may list at most %d users", s.opts.MaxWinners)
	}
	for _, id := range req.DisqualifiedUserIDs {
		if !ValidID(id) {
			v.Add("disqualified_user_ids", CodeInvalidDisqualifiedUserIDs, "disqualified_user_ids must be positive integers")
			break
		}
	}
	if _, ok := normalizeText(req.Reason, MaxReasonLength); !ok {
		v.Add("reason", CodeInvalidReason, "reason must be at most %d characters without control characters", MaxReasonLength)
	}
	if req.Reason == "" {
		v.Add("reason", CodeMissingReason, "reason is required")
	}
	if err := v.Err(); err != nil {
		return RedrawResult{}, err
	}
	dq := unique(req.DisqualifiedUserIDs)
	slices.Sort(dq)
	var out RedrawResult
	err := s.store.InTx(ctx, func(q Queries) error {
		out = RedrawResult{}
		d, err := q.EnsureDraw(ctx, giveawayID, Draw{}, LockExclusive)
		if errors.Is(err, ErrNotFound) || err == nil && d.Status != DrawDrawn {
			return Errorf(CodeDrawNotCompleted, "The winners of this giveaway have not been drawn yet.")
		}
		if err != nil {
			return err
		}
		for _, r := range d.Record.Replacements {
			if slices.Equal(sortedCopy(r.DisqualifiedUserIDs), dq) {
				out.Round, out.Record, out.AlreadyApplied = r, d.Record, true
				out.Winners, err = q.Winners(ctx, giveawayID)
				return err
			}
		}
		current := map[int64]bool{}
		for _, w := range d.Record.CurrentWinners() {
			current[w.UserID] = true
		}
		for _, id := range dq {
			if !current[id] {
				return &Error{Code: CodeNotAWinner, Message: fmt.Sprintf("User %d is not a current winner of this giveaway.", id)}
			}
		}
		entrants, err := q.EligibleEntrants(ctx, giveawayID, d.RequireSubscription)
		if err != nil {
			return err
		}
		if root := draw.Root(entrants); root != d.Record.EntrantsRoot {
			return fmt.Errorf("redraw giveaway %d: entrants changed since the draw (root %s, recorded %s)", giveawayID, root, d.Record.EntrantsRoot)
		}
		now := s.now()
		round, err := d.Record.Redraw(entrants, dq, req.Reason, now)
		if err != nil {
			return fmt.Errorf("redraw giveaway %d: %w", giveawayID, err)
		}
		d.Record.Replacements = append(d.Record.Replacements, round)
		if err := q.Disqualify(ctx, giveawayID, dq, now); err != nil {
			return err
		}
		if err := q.AddWins(ctx, dq, -1); err != nil {
			return err
		}
		picks := make([]draw.Pick, len(round.Replacements))
		for i, r := range round.Replacements {
			picks[i] = draw.Pick{Position: r.Position, UserID: r.UserID, Index: r.Index}
		}
		if err := q.MarkWinners(ctx, giveawayID, picks, now); err != nil {
			return err
		}
		if err := q.AddWins(ctx, pickUsers(picks), 1); err != nil {
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

func sortedCopy(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// CommitDraw publishes the giveaway's commitment ahead of any registration,
// so the giveaway post can carry it. It is idempotent.
func (s *Service) CommitDraw(ctx context.Context, giveawayID int64) (Draw, error) {
	if !ValidID(giveawayID) {
		return Draw{}, invalidID("giveaway_id")
	}
	fresh, err := s.freshDraw(giveawayID)
	if err != nil {
		return Draw{}, err
	}
	var d Draw
	err = s.store.InTx(ctx, func(q Queries) error {
		d, err = q.EnsureDraw(ctx, giveawayID, fresh, LockShared)
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

// Entrants returns the frozen entrant list of a drawn giveaway, ascending:
// with it an auditor recomputes the whole draw.
func (s *Service) Entrants(ctx context.Context, giveawayID int64) ([]int64, error) {
	d, err := s.drawn(ctx, giveawayID)
	if err != nil {
		return nil, err
	}
	return s.entrants(ctx, d)
}

// drawn returns the giveaway's draw, which must have happened.
func (s *Service) drawn(ctx context.Context, giveawayID int64) (Draw, error) {
	d, err := s.DrawRecord(ctx, giveawayID)
	if err != nil {
		return Draw{}, err
	}
	if d.Status != DrawDrawn {
		return Draw{}, Errorf(CodeDrawNotCompleted, "The winners of this giveaway have not been drawn yet.")
	}
	return d, nil
}

// entrants reads the draw's entrant list again; it cannot have changed,
// since registration closed with the draw, and a changed count would mean
// data was edited behind the service's back.
func (s *Service) entrants(ctx context.Context, d Draw) ([]int64, error) {
	entrants, err := s.store.EligibleEntrants(ctx, d.GiveawayID, d.RequireSubscription)
	if err != nil {
		return nil, err
	}
	if uint64(len(entrants)) != d.Record.EntrantsCount {
		return nil, fmt.Errorf("giveaway %d: %d entrants now, %d at the draw", d.GiveawayID, len(entrants), d.Record.EntrantsCount)
	}
	return entrants, nil
}

// WinnerProofs returns an inclusion proof for each current winner, in
// position order.
func (s *Service) WinnerProofs(ctx context.Context, giveawayID int64) ([]draw.Proof, error) {
	if !ValidID(giveawayID) {
		return nil, invalidID("giveaway_id")
	}
	d, err := s.drawn(ctx, giveawayID)
	if err != nil {
		return nil, err
	}
	prove, err := s.prover(ctx, d)
	if err != nil {
		return nil, err
	}
	proofs := []draw.Proof{}
	for _, w := range d.Record.CurrentWinners() {
		p, err := prove(w.UserID)
		if err != nil {
			return nil, fmt.Errorf("proof of winner %d: %w", w.UserID, err)
		}
		proofs = append(proofs, p)
	}
	return proofs, nil
}

// Proof returns the inclusion proof of a user in a drawn giveaway.
func (s *Service) Proof(ctx context.Context, giveawayID, userID int64) (draw.Proof, error) {
	var v Validation
	checkID(&v, "giveaway_id", giveawayID)
	checkID(&v, "user_id", userID)
	if err := v.Err(); err != nil {
		return draw.Proof{}, err
	}
	d, err := s.drawn(ctx, giveawayID)
	if err != nil {
		return draw.Proof{}, err
	}
	prove, err := s.prover(ctx, d)
	if err != nil {
		return draw.Proof{}, err
	}
	p, err := prove(userID)
	if errors.Is(err, draw.ErrNotEntered) {
		return draw.Proof{}, Errorf(CodeParticipantNotFound, "This user was not entered in the draw.")
	}
	return p, err
}

// prover returns a function that proves users' inclusion in the draw. With
// the tree cache each proof reads one chunk of at most draw.ChunkLeaves
// entrants; without it (draws older than the cache) the entrant list is
// read once for all proofs.
func (s *Service) prover(ctx context.Context, d Draw) (func(userID int64) (draw.Proof, error), error) {
	if d.Tree == nil {
		entrants, err := s.entrants(ctx, d)
		if err != nil {
			return nil, err
		}
		return func(userID int64) (draw.Proof, error) { return d.Record.Proof(entrants, userID) }, nil
	}
	winners := map[int64]int{}
	for _, w := range d.Record.CurrentWinners() {
		winners[w.UserID] = w.Position
	}
	return func(userID int64) (draw.Proof, error) {
		chunk, first, length, ok := d.Tree.ChunkOf(userID)
		if !ok {
			return draw.Proof{}, draw.ErrNotEntered
		}
		ids, err := s.store.EntrantsFrom(ctx, d.GiveawayID, d.RequireSubscription, first, length)
		if err != nil {
			return draw.Proof{}, err
		}
		index, path, err := d.Tree.Proof(chunk, ids, userID)
		if err != nil {
			return draw.Proof{}, err
		}
		pos := winners[userID]
		return draw.Proof{
			UserID: userID, LeafIndex: index, TreeSize: d.Record.EntrantsCount, AuditPath: path,
			EntrantsRoot: d.Record.EntrantsRoot, IsWinner: pos > 0, Position: pos,
		}, nil
	}, nil
}
