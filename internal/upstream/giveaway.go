package upstream

import (
	"context"
	"fmt"
	"net/http"

	"github.com/telegive/participant-service/internal/participant"
)

// Giveaways reads giveaways from the giveaway service.
type Giveaways struct {
	svc  *service
	opts Options
}

// NewGiveaways returns a client of the giveaway service.
func NewGiveaways(o Options) *Giveaways {
	o = o.withDefaults()
	return &Giveaways{svc: newService("giveaway", o.GiveawayURL, true, o), opts: o}
}

var _ participant.Giveaways = (*Giveaways)(nil)

// Breaker is the state of the giveaway service's circuit breaker.
func (g *Giveaways) Breaker() string { return g.svc.State() }

func giveawayKey(id int64) string { return fmt.Sprintf("giveaway:%d", id) }

// Giveaway calls GET /api/giveaways/{id}, through the cache.
func (g *Giveaways) Giveaway(ctx context.Context, id int64) (participant.Giveaway, error) {
	return cached(ctx, g.opts, giveawayKey(id), always[participant.Giveaway], func() (participant.Giveaway, error) {
		return g.fetch(ctx, id)
	})
}

// Invalidate forgets the cached giveaway, as soon as its draw closes it.
func (g *Giveaways) Invalidate(ctx context.Context, id int64) {
	if g.opts.Cache != nil {
		_ = g.opts.Cache.Delete(ctx, giveawayKey(id))
	}
}

func (g *Giveaways) fetch(ctx context.Context, id int64) (participant.Giveaway, error) {
	resp, err := g.svc.get(ctx, fmt.Sprintf("/api/giveaways/%d", id))
	if err != nil {
		return participant.Giveaway{}, g.svc.unavailable(err)
	}
	if resp.status == http.StatusNotFound {
		return participant.Giveaway{}, participant.Errorf(participant.CodeGiveawayNotFound, "This giveaway does not exist.")
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
	if err := resp.decode(&body); err != nil || resp.status != http.StatusOK || !body.Success || body.Giveaway == nil {
		return participant.Giveaway{}, g.svc.unavailable(err)
	}
	gw := body.Giveaway
	return participant.Giveaway{ID: gw.ID, Status: gw.Status, AccountID: gw.AccountID, WinnerCount: gw.WinnerCount, Title: gw.Title}, nil
}
