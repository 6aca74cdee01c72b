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

	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/draw"
)

// Draw returns a giveaway's draw record: only the commitment before the
// draw, every field after it.
func (c *Client) Draw(ctx context.Context, giveawayID int64) (draw.Record, error) {
	var out api.DrawResponse
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d/draw", giveawayID), repeatable: true}, &out)
	return out.Draw, err
}

// CommitDraw publishes the giveaway's draw commitment now (idempotent).
func (c *Client) CommitDraw(ctx context.Context, giveawayID int64) (draw.Record, error) {
	var out api.DrawResponse
	err := c.do(ctx, call{method: "POST", path: path("/api/participants/%d/draw/commit", giveawayID), repeatable: true}, &out)
	return out.Draw, err
}

// WinnerProofs returns an inclusion proof for every current winner.
func (c *Client) WinnerProofs(ctx context.Context, giveawayID int64) ([]draw.Proof, error) {
	var out api.WinnerProofsResponse
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d/draw/winner-proofs", giveawayID), repeatable: true}, &out)
	return out.Proofs, err
}

// Proof returns a user's inclusion proof in a drawn giveaway.
func (c *Client) Proof(ctx context.Context, giveawayID, userID int64) (draw.Proof, error) {
	var out api.ProofResponse
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d/draw/proof/%d", giveawayID, userID), repeatable: true}, &out)
	return out.Proof, err
}

// Export streams a giveaway's participants in participant-id order to fn,
// holding one at a time.
func (c *Client) Export(ctx context.Context, giveawayID int64, fn func(Participant) error) error {
	resp, err := c.send(ctx, call{method: "GET", path: path("/api/participants/%d/export", giveawayID), query: url.Values{"format": {"ndjson"}}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var p Participant
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
	resp, err := c.send(ctx, call{method: "GET", path: path("/api/participants/%d/draw/entrants", giveawayID), repeatable: true})
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

// ExportTo copies a giveaway's participants to w as NDJSON or CSV
// ("ndjson" or "csv"), streaming. An export the service had to cut short
// returns an error, never a silently truncated file.
func (c *Client) ExportTo(ctx context.Context, giveawayID int64, format string, w io.Writer) (int64, error) {
	resp, err := c.send(ctx, call{method: "GET", path: path("/api/participants/%d/export", giveawayID), query: url.Values{"format": {format}}})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("client: export cut short after %d bytes: %w", n, err)
	}
	return n, nil
}
