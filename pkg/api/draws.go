package api

import (
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// SelectWinnersRequest is the optional body of POST
// /api/participants/{giveaway_id}/select-winners.
type SelectWinnersRequest struct {
	// WinnerCount 0 lets the service ask the giveaway service.
	WinnerCount int `json:"winner_count,omitempty"`
	// Beacon is optional public randomness, lowercase hex.
	Beacon string `json:"beacon,omitempty"`
}

// Selection answers select-winners: the draw, identical on every call.
type Selection struct {
	Success              bool        `json:"success"`
	GiveawayID           int64       `json:"giveaway_id"`
	Winners              []Winner    `json:"winners"`
	TotalParticipants    int64       `json:"total_participants"`
	WinnerCountRequested int         `json:"winner_count_requested"`
	WinnerCountSelected  int         `json:"winner_count_selected"`
	SelectionMethod      string      `json:"selection_method"`
	SelectionTimestamp   time.Time   `json:"selection_timestamp"`
	AlreadySelected      bool        `json:"already_selected"`
	Draw                 draw.Record `json:"draw"`
	// Protocol is the draw's version, telegive-draw-v1 or
	// telegive-draw-v2, and PublicRandomness whether its winners follow
	// from public randomness (a drand round fixed at the freeze) rather
	// than from the operator's seed alone: true for v2 only.
	Protocol         string `json:"protocol"`
	PublicRandomness bool   `json:"public_randomness"`
	// Recheck is the draw-time re-check of the winners (the rules'
	// recheck_at_draw); absent when the rules ask for none.
	Recheck *SelectionRecheck `json:"recheck,omitempty"`
}

// The statuses of a [SelectionRecheck]: draw.RecheckPending and
// draw.RecheckComplete, and RecheckNotApplied for a telegive-draw-v1
// draw, which is not re-checked.
const RecheckNotApplied = "not_applied"

// SelectionRecheck says how far the re-check of the winners has gone.
// While Status is pending, calling select-winners again goes on with it.
type SelectionRecheck struct {
	Status string `json:"status"`
	// Final are the current winners whose check passed, by position.
	Final []int64 `json:"final"`
	// Unchecked are the current winners Telegram could not be asked about
	// yet: neither passed nor failed.
	Unchecked []int64 `json:"unchecked"`
	// Pending is the redraw round waiting for its beacon, nil when none.
	Pending *RecheckRound `json:"pending"`
	// Disqualified lists every winner who failed the check.
	Disqualified []RecheckDisqualified `json:"disqualified"`
}

// RecheckRound is a requested redraw round waiting for its beacon round.
type RecheckRound struct {
	Round        uint64                  `json:"round"`
	BeaconRound  uint64                  `json:"beacon_round"`
	BeaconAt     time.Time               `json:"beacon_at"`
	Disqualified []draw.Disqualification `json:"disqualified"`
}

// RecheckDisqualified is a winner who failed the re-check.
type RecheckDisqualified struct {
	UserID   int64       `json:"user_id"`
	Position int         `json:"position"`
	Reason   draw.Reason `json:"reason"`
	// Round is the redraw round that disqualifies the winner, nil until
	// it is requested.
	Round *uint64 `json:"round"`
	// ReplacedBy is the replacement, nil while the round is pending or
	// when no entrant was left for the position.
	ReplacedBy *int64 `json:"replaced_by"`
}

// Winner is a selected participant.
type Winner struct {
	Position         int        `json:"position"`
	UserID           int64      `json:"user_id"`
	ParticipantID    int64      `json:"participant_id"`
	Username         *string    `json:"username"`
	FirstName        *string    `json:"first_name"`
	LastName         *string    `json:"last_name"`
	WinnerSelectedAt *time.Time `json:"winner_selected_at"`
}

// RedrawRequest is the body of POST /api/participants/{giveaway_id}/redraw:
// disqualify winners and draw their replacements.
type RedrawRequest struct {
	DisqualifiedUserIDs []int64 `json:"disqualified_user_ids,omitempty"`
	// Reason is why, for every user listed without one of their own. A
	// telegive-draw-v2 giveaway takes only the reasons of draw.Reasons.
	Reason string `json:"reason,omitempty"`
	// Disqualified lists users each with their own reason.
	Disqualified []draw.Disqualification `json:"disqualified,omitempty"`
}

// RedrawResult answers redraw: the round and the winners after it;
// repeating a round returns it with AlreadyApplied.
type RedrawResult struct {
	Success             bool               `json:"success"`
	GiveawayID          int64              `json:"giveaway_id"`
	DisqualifiedUserIDs []int64            `json:"disqualified_user_ids"`
	Reason              string             `json:"reason"`
	Replacements        []draw.Replacement `json:"replacements"`
	Winners             []Winner           `json:"winners"`
	AlreadyApplied      bool               `json:"already_applied"`
	Draw                draw.Record        `json:"draw"`
	// Disqualified lists the round's users with their reasons; Round is
	// the round's number in a telegive-draw-v2 record, 0 in v1.
	Disqualified []draw.Disqualification `json:"disqualified"`
	Round        uint64                  `json:"round"`
}

// DrawResponse answers GET /api/participants/{giveaway_id}/draw and POST
// .../draw/commit: the commitment before the draw, the full record after.
type DrawResponse struct {
	Success bool        `json:"success"`
	Draw    draw.Record `json:"draw"`
}

// ProofResponse answers GET
// /api/participants/{giveaway_id}/draw/proof/{user_id}.
type ProofResponse struct {
	Success bool       `json:"success"`
	Proof   draw.Proof `json:"proof"`
}

// WinnerProofsResponse answers GET
// /api/participants/{giveaway_id}/draw/winner-proofs: an inclusion proof
// for every current winner.
type WinnerProofsResponse struct {
	Success bool         `json:"success"`
	Proofs  []draw.Proof `json:"proofs"`
}
