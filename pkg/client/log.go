package client

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// MaxLogEntries is the most entries one LogEntries call returns.
const MaxLogEntries = 1000

// The draw log's answers are the types of pkg/api, shared with the
// service.
type (
	// LogKey is the draw log's keys as the service states them: its
	// origin, note verifier key, witnesses and quorum. A verifier pins
	// them out of band; what the service says is only a default that the
	// service itself chose.
	LogKey = api.LogKeyResponse
	// LogWitness is one witness of the draw log.
	LogWitness = api.LogWitness
	// LogEntry is one entry of the draw log: its index and its bytes, the
	// RFC 8785 canonical JSON the log's tree hashes.
	LogEntry = api.LogEntry
)

// LogCheckpoint returns the draw log's latest checkpoint: the signed note
// text with the witnesses' cosignature lines, unverified.
func (c *Client) LogCheckpoint(ctx context.Context) (string, error) {
	const p = "/api/participants/log/checkpoint"
	resp, err := c.send(ctx, call{method: "GET", path: p, repeatable: true})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, drawlog.MaxNoteSize+1))
	if err != nil {
		return "", fmt.Errorf("client: GET %s: %w", p, err)
	}
	if len(data) > drawlog.MaxNoteSize {
		return "", fmt.Errorf("client: GET %s: the checkpoint exceeds %d bytes", p, drawlog.MaxNoteSize)
	}
	return string(data), nil
}

// LogKey returns the draw log's origin, verifier key, witnesses and quorum
// as the service states them.
func (c *Client) LogKey(ctx context.Context) (LogKey, error) {
	var out api.LogKeyResponse
	err := c.do(ctx, call{method: "GET", path: "/api/participants/log/key", repeatable: true}, &out)
	return out, err
}

// LogEntries returns the log's entries from start up to end, exclusive, as
// the service answers: at most MaxLogEntries, fewer when the log ends
// sooner. The caller checks the indices and the bytes.
func (c *Client) LogEntries(ctx context.Context, start, end uint64) ([]LogEntry, error) {
	var out api.LogEntriesResponse
	q := url.Values{"start": {strconv.FormatUint(start, 10)}, "end": {strconv.FormatUint(end, 10)}}
	err := c.do(ctx, call{method: "GET", path: "/api/participants/log/entries", query: q, repeatable: true}, &out)
	return out.Entries, err
}

// LogInclusionProof returns the RFC 6962 audit path of the entry at index
// in the log's tree of treeSize entries, from the leaf upwards.
func (c *Client) LogInclusionProof(ctx context.Context, index, treeSize uint64) ([]drawlog.Hash, error) {
	var out api.LogInclusionResponse
	q := url.Values{"index": {strconv.FormatUint(index, 10)}, "tree_size": {strconv.FormatUint(treeSize, 10)}}
	err := c.do(ctx, call{method: "GET", path: "/api/participants/log/proof/inclusion", query: q, repeatable: true}, &out)
	return logHashes(out.AuditPath), err
}

// LogConsistencyProof returns the RFC 6962 consistency proof between the
// log's trees of first and second entries.
func (c *Client) LogConsistencyProof(ctx context.Context, first, second uint64) ([]drawlog.Hash, error) {
	var out api.LogConsistencyResponse
	q := url.Values{"first": {strconv.FormatUint(first, 10)}, "second": {strconv.FormatUint(second, 10)}}
	err := c.do(ctx, call{method: "GET", path: "/api/participants/log/proof/consistency", query: q, repeatable: true}, &out)
	return logHashes(out.Proof), err
}

func logHashes(hs []draw.Hash) []drawlog.Hash {
	out := make([]drawlog.Hash, len(hs))
	for i, h := range hs {
		out[i] = drawlog.Hash(h)
	}
	return out
}

// EntrantTickets returns a drawn v2 giveaway's entrant list, ascending,
// with each entrant's tickets (nil when every entrant holds one): the list
// the entrants root was computed over, read as [draw.ReadEntrantList] reads
// it.
func (c *Client) EntrantTickets(ctx context.Context, giveawayID int64) ([]int64, []uint64, error) {
	resp, err := c.send(ctx, call{method: "GET", path: path("/api/participants/%d/draw/entrants", giveawayID), repeatable: true})
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	return draw.ReadEntrantList(resp.Body)
}
