package client

import (
	"context"

	"github.com/telegive/participant-service/pkg/api"
)

// Rules returns a giveaway's rules as the service serves them: the
// defaults when none were set. Its Rules member holds the served bytes
// exactly, which are what a draw record's rules_sha256 hashes.
func (c *Client) Rules(ctx context.Context, giveawayID int64) (api.RulesResponse, error) {
	var out api.RulesResponse
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/%d/rules", giveawayID), repeatable: true}, &out)
	return out, err
}
