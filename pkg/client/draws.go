package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/telegive/participant-service/pkg/draw"
)

// Draw returns a giveaway's draw record: only the commitment before the
// draw, every field after it.
func (c *Client) Draw(ctx context.Context, giveawayID int64) (draw.Record, error) {
	var out struct {
		Draw draw.Record `json:"draw"`
	}
	err := c.do(ctx, "GET", fmt.Sprintf("/api/participants/%d/draw", giveawayID), nil, nil, &out)
	return out.Draw, err
}

// Proof returns a user's inclusion proof in a drawn giveaway.
func (c *Client) Proof(ctx context.Context, giveawayID, userID int64) (draw.Proof, error) {
	var out struct {
		Proof draw.Proof `json:"proof"`
	}
	err := c.do(ctx, "GET", fmt.Sprintf("/api/participants/%d/draw/proof/%d", giveawayID, userID), nil, nil, &out)
	return out.Proof, err
}

// ExportedParticipant is one line of a participant export.
type ExportedParticipant struct {
	ID                   int64   `json:"id"`
	GiveawayID           int64   `json:"giveaway_id"`
	UserID               int64   `json:"user_id"`
	Username             *string `json:"username"`
	FirstName            *string `json:"first_name"`
	LastName             *string `json:"last_name"`
	CaptchaCompleted     bool    `json:"captcha_completed"`
	SubscriptionVerified bool    `json:"subscription_verified"`
	IsWinner             bool    `json:"is_winner"`
}

// Export streams a giveaway's participants in participant-id order to fn,
// holding one at a time.
func (c *Client) Export(ctx context.Context, giveawayID int64, fn func(ExportedParticipant) error) error {
	resp, err := c.send(ctx, "GET", fmt.Sprintf("/api/participants/%d/export", giveawayID), url.Values{"format": {"ndjson"}}, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var p ExportedParticipant
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return fmt.Errorf("client: export line: %w", err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("client: export cut short: %w", err)
	}
	return nil
}

// Entrants returns a drawn giveaway's entrant list, ascending: the list the
// entrants root was computed over.
func (c *Client) Entrants(ctx context.Context, giveawayID int64) ([]int64, error) {
	resp, err := c.send(ctx, "GET", fmt.Sprintf("/api/participants/%d/draw/entrants", giveawayID), nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return ReadEntrants(resp.Body)
}

// ReadEntrants parses an entrant list: one decimal user id per line.
func ReadEntrants(r io.Reader) ([]int64, error) {
	var ids []int64
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("entrants line %d: %q is not a user id", line, s)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("entrants: %w", err)
	}
	return ids, nil
}
