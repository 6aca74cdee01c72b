package participant

import (
	"context"
	"errors"
	"fmt"

	"github.com/telegive/participant-service/pkg/draw"
)

// EntrantList is a draw's frozen entrant list, ascending by user id, the
// exact list its entrants root was computed over.
type EntrantList struct {
	// Version is the draw's protocol: a v1 list is served as one user id
	// a line, a v2 list as "user_id tickets" lines (draw.WriteEntrantList).
	Version string
	IDs     []int64
	// Tickets holds each v2 entrant's tickets; nil when every entrant
	// holds one, and always in v1.
	Tickets []uint64
}

// Entrants returns the frozen entrant list of a drawn (or, in v2, frozen)
// giveaway, ascending: with it an auditor recomputes the whole draw. A v2
// list's tickets are EntrantList's.
func (s *Service) Entrants(ctx context.Context, giveawayID int64) ([]int64, error) {
	l, err := s.EntrantList(ctx, giveawayID)
	return l.IDs, err
}

// EntrantList returns the frozen entrant list with its tickets: of a drawn
// v1 giveaway, or of a frozen or drawn v2 one.
func (s *Service) EntrantList(ctx context.Context, giveawayID int64) (EntrantList, error) {
	if !ValidID(giveawayID) {
		return EntrantList{}, invalidID("giveaway_id")
	}
	d, err := s.DrawRecord(ctx, giveawayID)
	if err != nil {
		return EntrantList{}, err
	}
	if !d.V2() {
		if d.Status != DrawDrawn {
			return EntrantList{}, errNotDrawn()
		}
		ids, err := s.entrants(ctx, d)
		return EntrantList{Version: draw.Version, IDs: ids}, err
	}
	if d.Status != DrawFrozen && d.Status != DrawDrawn {
		return EntrantList{}, errNotDrawn()
	}
	ids, tickets, err := s.store.EntrantTickets(ctx, giveawayID, d.RequireSubscription)
	if err != nil {
		return EntrantList{}, err
	}
	total, _, err := draw.CheckTickets(ids, tickets)
	if err != nil {
		return EntrantList{}, fmt.Errorf("giveaway %d: the frozen entrants: %w", giveawayID, err)
	}
	if uint64(len(ids)) != d.Record.EntrantsCount || total != d.Record.TotalTickets {
		return EntrantList{}, fmt.Errorf("giveaway %d: %d entrants with %d tickets now, %d with %d at the freeze",
			giveawayID, len(ids), total, d.Record.EntrantsCount, d.Record.TotalTickets)
	}
	return EntrantList{Version: draw.VersionV2, IDs: ids, Tickets: tickets}, nil
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

// Proof returns the inclusion proof of a user in a drawn giveaway, or in a
// frozen v2 one (with tickets and the ticket range, before the winners).
func (s *Service) Proof(ctx context.Context, giveawayID, userID int64) (draw.Proof, error) {
	var v Validation
	checkID(&v, "giveaway_id", giveawayID)
	checkID(&v, "user_id", userID)
	if err := v.Err(); err != nil {
		return draw.Proof{}, err
	}
	d, err := s.frozen(ctx, giveawayID)
	if err != nil {
		return draw.Proof{}, err
	}
	if !d.V2() && d.Status != DrawDrawn {
		return draw.Proof{}, errNotDrawn()
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
// entrants; without it (v1 draws older than the cache) the entrant list is
// read once for all proofs.
func (s *Service) prover(ctx context.Context, d Draw) (func(userID int64) (draw.Proof, error), error) {
	if d.V2() {
		return s.ticketProver(ctx, d)
	}
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

// ticketProver proves v2 entrants from the sum tree cache saved at the
// freeze: each proof reads the one chunk holding the user, checked against
// the cached chunk root, and then against the record's root and total.
func (s *Service) ticketProver(ctx context.Context, d Draw) (func(userID int64) (draw.Proof, error), error) {
	if d.SumTree == nil {
		t, err := readTree(ctx, s.store, d)
		if err != nil {
			return nil, err
		}
		return func(userID int64) (draw.Proof, error) { return d.Record.TicketProof(t, userID) }, nil
	}
	return func(userID int64) (draw.Proof, error) {
		chunk, first, length, ok := d.SumTree.ChunkOf(userID)
		if !ok {
			return draw.Proof{}, draw.ErrNotEntered
		}
		ids, tickets, err := s.store.EntrantTicketsFrom(ctx, d.GiveawayID, d.RequireSubscription, first, length)
		if err != nil {
			return draw.Proof{}, err
		}
		leaf, err := d.SumTree.Proof(chunk, ids, tickets, userID)
		if err != nil {
			return draw.Proof{}, err
		}
		return d.Record.ProofFromLeaf(userID, leaf)
	}, nil
}
