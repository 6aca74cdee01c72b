package client

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// SelectRequest asks for a giveaway's winners.
type SelectRequest struct {
	// WinnerCount 0 lets the service ask the giveaway service.
	WinnerCount int `json:"winner_count,omitempty"`
	// Beacon is optional public randomness, lowercase hex.
	Beacon string `json:"beacon,omitempty"`
}

// Selection is the result of a draw, identical on every call.
type Selection struct {
	Winners              []Winner    `json:"winners"`
	TotalParticipants    int64       `json:"total_participants"`
	WinnerCountRequested int         `json:"winner_count_requested"`
	WinnerCountSelected  int         `json:"winner_count_selected"`
	SelectionMethod      string      `json:"selection_method"`
	SelectionTimestamp   time.Time   `json:"selection_timestamp"`
	AlreadySelected      bool        `json:"already_selected"`
	Draw                 draw.Record `json:"draw"`
}

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
	var out struct {
		Count int64 `json:"count"`
	}
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d/count", giveawayID), repeatable: true}, &out)
	return out.Count, err
}

// Stats returns the participation statistics.
func (c *Client) Stats(ctx context.Context, giveawayID int64) (Stats, error) {
	var out struct {
		Stats Stats `json:"stats"`
	}
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d/stats", giveawayID), repeatable: true}, &out)
	return out.Stats, err
}

// Winners returns the current winners and the draw record (nil before the
// draw).
func (c *Client) Winners(ctx context.Context, giveawayID int64) ([]Winner, *draw.Record, error) {
	var out struct {
		Winners []Winner     `json:"winners"`
		Draw    *draw.Record `json:"draw"`
	}
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d/winners", giveawayID), repeatable: true}, &out)
	return out.Winners, out.Draw, err
}

// RedrawResult is one redraw round and the winners after it.
type RedrawResult struct {
	DisqualifiedUserIDs []int64            `json:"disqualified_user_ids"`
	Reason              string             `json:"reason"`
	Replacements        []draw.Replacement `json:"replacements"`
	Winners             []Winner           `json:"winners"`
	AlreadyApplied      bool               `json:"already_applied"`
	Draw                draw.Record        `json:"draw"`
}

// Redraw disqualifies winners and draws replacements. Repeating a round
// returns it, so the call is retried safely.
func (c *Client) Redraw(ctx context.Context, giveawayID int64, disqualified []int64, reason string) (RedrawResult, error) {
	var out RedrawResult
	body := map[string]any{"disqualified_user_ids": disqualified, "reason": reason}
	err := c.do(ctx, call{method: "POST", path: path("/api/participants/%d/redraw", giveawayID), body: body, repeatable: true}, &out)
	return out, err
}

// AdminStats returns platform-wide totals (admin token).
func (c *Client) AdminStats(ctx context.Context) (AdminStats, error) {
	var out struct {
		Stats AdminStats `json:"stats"`
	}
	err := c.do(ctx, call{method: "GET", path: "/admin/stats", repeatable: true}, &out)
	return out.Stats, err
}

// AdminCleanup deletes stale captcha challenges (admin token).
func (c *Client) AdminCleanup(ctx context.Context) (int, error) {
	var out struct {
		Deleted int `json:"deleted_challenges"`
	}
	err := c.do(ctx, call{method: "POST", path: "/admin/cleanup", repeatable: true}, &out)
	return out.Deleted, err
}

// Health returns the service's overall state. An unhealthy service answers
// 503 with the same body, which is returned with the error.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var out Health
	err := c.do(ctx, call{method: "GET", path: "/health"}, &out)
	return out, err
}
