package upstream

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/telegive/participant-service/internal/participant"
)

// Giveaways reads giveaways from the giveaway service.
type Giveaways struct {
	opts Options
	http *http.Client
}

// NewGiveaways returns a client of the giveaway service.
func NewGiveaways(o Options) *Giveaways { return &Giveaways{opts: o, http: o.client()} }

var _ participant.Giveaways = (*Giveaways)(nil)

// Giveaway calls GET /api/giveaways/{id}.
func (g *Giveaways) Giveaway(ctx context.Context, id int64) (participant.Giveaway, error) {
	u := strings.TrimSuffix(g.opts.GiveawayURL, "/") + "/api/giveaways/" + strconv.FormatInt(id, 10)
	resp, err := get(ctx, g.http, g.opts.Timeout, u, g.opts.header(true))
	if err != nil {
		return participant.Giveaway{}, unavailable("giveaway", err)
	}
	var body struct {
		Success  bool `json:"success"`
		Giveaway *struct {
			ID          int64  `json:"id"`
			Status      string `json:"status"`
			AccountID   int64  `json:"account_id"`
			WinnerCount int    `json:"winner_count"`
			Title       string `json:"title"`
		} `json:"giveaway"`
	}
	if resp.status == http.StatusNotFound {
		return participant.Giveaway{}, participant.Errorf(participant.CodeGiveawayNotFound, "This giveaway does not exist.")
	}
	if err := resp.decode(&body); err != nil || resp.status != http.StatusOK || !body.Success || body.Giveaway == nil {
		return participant.Giveaway{}, unavailable("giveaway", err)
	}
	gw := body.Giveaway
	return participant.Giveaway{ID: gw.ID, Status: gw.Status, AccountID: gw.AccountID, WinnerCount: gw.WinnerCount, Title: gw.Title}, nil
}

// unavailable is the domain error for a failing upstream; the cause stays
// in Err for the logs.
func unavailable(service string, cause error) error {
	return &participant.Error{
		Code:    participant.CodeServiceUnavailable,
		Message: "A required service is temporarily unavailable. Please try again shortly.",
		Err:     serviceError{service, cause},
	}
}

// serviceError names the upstream that failed, for logs.
type serviceError struct {
	service string
	cause   error
}

func (e serviceError) Error() string {
	if e.cause == nil {
		return e.service + ": unexpected answer"
	}
	return e.service + ": " + e.cause.Error()
}

func (e serviceError) Unwrap() error { return e.cause }
