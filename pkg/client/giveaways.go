package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/draw"
)

// SelectWinners draws the giveaway's winners. The service draws once, so
// the call is retried safely.
func (c *Client) SelectWinners(ctx context.Context, giveawayID int64, req SelectRequest) (Selection, error) {
	var out Selection
	err := c.do(ctx, call{method: "POST", path: path("/api/participants/%d/select-winners", giveawayID), body: req, repeatable: true}, &out)
	return out, err
}

// ListParticipants returns a page of participants in id order.
func (c *Client) ListParticipants(ctx context.Context, giveawayID int64, page, limit int) (Listing, error) {
	var out Listing
	q := url.Values{"page": {strconv.Itoa(page)}, "limit": {strconv.Itoa(limit)}}
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d", giveawayID), query: q, repeatable: true}, &out)
	return out, err
}

// Count returns the number of participants.
func (c *Client) Count(ctx context.Context, giveawayID int64) (int64, error) {
	var out api.CountResponse
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d/count", giveawayID), repeatable: true}, &out)
	return out.Count, err
}

// Stats returns the participation statistics.
func (c *Client) Stats(ctx context.Context, giveawayID int64) (Stats, error) {
	var out api.StatsResponse
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d/stats", giveawayID), repeatable: true}, &out)
	return out.Stats, err
}

// Winners returns the current winners and the draw record (nil before the
// draw).
func (c *Client) Winners(ctx context.Context, giveawayID int64) ([]Winner, *draw.Record, error) {
	var out api.WinnersResponse
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d/winners", giveawayID), repeatable: true}, &out)
	return out.Winners, out.Draw, err
}

// Redraw disqualifies winners and draws replacements. Repeating a round
// returns it, so the call is retried safely.
func (c *Client) Redraw(ctx context.Context, giveawayID int64, disqualified []int64, reason string) (RedrawResult, error) {
	var out RedrawResult
	body := api.RedrawRequest{DisqualifiedUserIDs: disqualified, Reason: reason}
	err := c.do(ctx, call{method: "POST", path: path("/api/participants/%d/redraw", giveawayID), body: body, repeatable: true}, &out)
	return out, err
}

// AdminStats returns platform-wide totals (admin token).
func (c *Client) AdminStats(ctx context.Context) (AdminStats, error) {
	var out api.AdminStatsResponse
	err := c.do(ctx, call{method: "GET", path: "/admin/stats", repeatable: true}, &out)
	return out.Stats, err
}

// AdminCleanup deletes stale captcha challenges (admin token).
func (c *Client) AdminCleanup(ctx context.Context) (int, error) {
	var out api.CleanupResponse
	err := c.do(ctx, call{method: "POST", path: "/admin/cleanup", repeatable: true}, &out)
	return out.DeletedChallenges, err
}

// Health returns the service's overall state. An unhealthy service answers
// 503 with the same body, which is returned with the error.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var out Health
	err := c.do(ctx, call{method: "GET", path: "/health"}, &out)
	return out, err
}
