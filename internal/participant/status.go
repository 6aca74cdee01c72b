package participant

import (
	"context"
	"errors"
	"time"
)

// WinnerStatus tells whether a user took part in a giveaway and won.
type WinnerStatus struct {
	Participated     bool
	IsWinner         bool
	WinnerSelectedAt *time.Time
	TotalWinners     int
	ParticipantID    int64
}

// WinnerStatus reports a user's standing in a giveaway.
func (s *Service) WinnerStatus(ctx context.Context, userID, giveawayID int64) (WinnerStatus, error) {
	var v Validation
	checkID(&v, "user_id", userID)
	checkID(&v, "giveaway_id", giveawayID)
	if err := v.Err(); err != nil {
		return WinnerStatus{}, err
	}
	var out WinnerStatus
	p, err := s.store.Participant(ctx, giveawayID, userID)
	switch {
	case err == nil:
		out = WinnerStatus{Participated: true, IsWinner: p.IsWinner, WinnerSelectedAt: p.WinnerSelectedAt, ParticipantID: p.ID}
	case !errors.Is(err, ErrNotFound):
		return WinnerStatus{}, err
	}
	d, err := s.store.Draw(ctx, giveawayID)
	switch {
	case err == nil && d.Status == DrawDrawn:
		out.TotalWinners = len(d.Record.CurrentWinners())
		if out.Participated && out.WinnerSelectedAt == nil {
			at := d.Record.DrawnAt
			out.WinnerSelectedAt = &at
		}
	case err != nil && !errors.Is(err, ErrNotFound):
		return WinnerStatus{}, err
	}
	return out, nil
}

// VerifySubscription looks up whether the user is subscribed to the
// account's channel.
func (s *Service) VerifySubscription(ctx context.Context, userID, accountID int64) (Subscription, error) {
	var v Validation
	checkID(&v, "user_id", userID)
	checkID(&v, "account_id", accountID)
	if err := v.Err(); err != nil {
		return Subscription{}, err
	}
	return s.checkSubscription(ctx, userID, accountID)
}

// MaxDeliveryBatch is the largest delivery update accepted at once.
const MaxDeliveryBatch = 10000

// DeliveryUpdate records whether result messages reached participants.
type DeliveryUpdate struct {
	ParticipantIDs []int64
	Delivered      bool
	At             *time.Time
}

// DeliveryFailure names an id that could not be updated.
type DeliveryFailure struct {
	ParticipantID int64
	Reason        string
}

// DeliveryResult is the outcome of a delivery update.
type DeliveryResult struct {
	Updated int
	Failed  []DeliveryFailure
}

// UpdateDelivery records a delivery attempt for every id in one statement.
// Delivery is monotonic: a failed attempt counts but never un-delivers a
// message that an earlier attempt delivered.
func (s *Service) UpdateDelivery(ctx context.Context, u DeliveryUpdate) (DeliveryResult, error) {
	var v Validation
	switch {
	case len(u.ParticipantIDs) == 0:
		v.Add("participant_ids", CodeMissingParticipantIDs, "participant_ids must list at least one id")
	case len(u.ParticipantIDs) > MaxDeliveryBatch:
		v.Add("participant_ids", CodeTooManyParticipantIDs, "participant_ids may list at most %d ids", MaxDeliveryBatch)
	}
	for _, id := range u.ParticipantIDs {
		if !ValidID(id) {
			v.Add("participant_ids", CodeInvalidParticipantIDs, "participant_ids must be positive integers")
			break
		}
	}
	if err := v.Err(); err != nil {
		return DeliveryResult{}, err
	}
	ids := unique(u.ParticipantIDs)
	at := s.now()
	if u.At != nil {
		at = u.At.UTC().Truncate(time.Microsecond)
	}
	updated, err := s.store.UpdateDelivery(ctx, ids, u.Delivered, at)
	if err != nil {
		return DeliveryResult{}, err
	}
	found := make(map[int64]bool, len(updated))
	for _, id := range updated {
		found[id] = true
	}
	res := DeliveryResult{Updated: len(updated), Failed: []DeliveryFailure{}}
	for _, id := range ids {
		if !found[id] {
			res.Failed = append(res.Failed, DeliveryFailure{ParticipantID: id, Reason: "participant not found"})
		}
	}
	return res, nil
}
