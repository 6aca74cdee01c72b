package draw

import "time"

// A Recheck is the draw-time check of a v2 giveaway's winners against its
// rules (recheck_at_draw). It is the operator's statement of what Telegram
// answered, which no proof can show; what the proofs do show is that every
// replacement follows the replacement rule, whatever the reason.
type Recheck struct {
	// Status is RecheckPending while a winner is unchecked or a round of
	// replacements waits to be drawn or checked, RecheckComplete after.
	Status string `json:"status"`
	// Checked lists every check made, in the order made.
	Checked []RecheckResult `json:"checked"`
	// Unchecked lists the current winners that Telegram could not be
	// asked about yet, ascending: they are neither passed nor failed.
	Unchecked []int64 `json:"unchecked"`
}

// The statuses of a [Recheck].
const (
	RecheckPending  = "pending"
	RecheckComplete = "complete"
)

// A RecheckResult is one winner's check.
type RecheckResult struct {
	UserID int64 `json:"user_id"`
	// Position is the winner's position when checked.
	Position uint64 `json:"position"`
	// Round is 0 for the initial draw's winners and r for the
	// replacements of redraw round r.
	Round uint64 `json:"round"`
	// Passed says whether the winner still meets every rule; when false,
	// Reason says which rule it broke, and the winner is disqualified in
	// the next redraw round.
	Passed    bool      `json:"passed"`
	Reason    Reason    `json:"reason,omitempty"`
	CheckedAt time.Time `json:"checked_at"`
}
