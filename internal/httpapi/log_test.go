package httpapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/witness"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// logEntries reads /log/entries from start to end as raw entry bytes,
// checking that the indices run on from start.
func (h *harness) logEntries(t *testing.T, start, end uint64) [][]byte {
	t.Helper()
	r := h.do("GET", fmt.Sprintf("/api/participants/log/entries?start=%d&end=%d", start, end), nil).expect(t, http.StatusOK, "")
	list, _ := r.body["entries"].([]any)
	out := make([][]byte, len(list))
	for i, e := range list {
		m := e.(map[string]any)
		if idx := uint64(m["index"].(float64)); idx != start+uint64(i) {
			t.Fatalf("entry %d has index %d, want %d", i, idx, start+uint64(i))
		}
		data, err := base64.StdEncoding.DecodeString(m["data"].(string))
		if err != nil {
			t.Fatalf("entry %d: data is not base64: %v", i, err)
		}
		out[i] = data
	}
	return out
}

// logHashes reads a list of hex hashes from the reply's field.
func logHashes(t *testing.T, r reply, field string) []drawlog.Hash {
	t.Helper()
	list, ok := r.body[field].([]any)
	if !ok {
		t.Fatalf("%s is not a list: %s", field, r.raw)
	}
	out := make([]drawlog.Hash, len(list))
	for i, v := range list {
		h, err := drawlog.ParseHash(v.(string))
		if err != nil {
			t.Fatalf("%s[%d]: %v", field, i, err)
		}
		out[i] = h
	}
	return out
}

// TestLogEndpointsServeAVerifiableLog: the log's key, checkpoint, entries
// and proofs fit together: the checkpoint verifies with the key served,
// its root is the RFC 6962 root of the entries served, and every inclusion
// and consistency proof verifies against it.
func TestLogEndpointsServeAVerifiableLog(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		for g := int64(1); g <= 3; g++ {
			h.join(g, 100+g)
			h.join(g, 200+g)
			h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", g), map[string]any{"winner_count": 1}).expect(t, http.StatusOK, "")
		}
		key := h.do("GET", "/api/participants/log/key", nil).expect(t, http.StatusOK, "")
		if key.str("origin") != participant.DefaultLogOrigin || key.num("quorum") != 0 || len(key.body["witnesses"].([]any)) != 0 {
			t.Fatalf("key = %s", key.raw)
		}
		verifier, err := drawlog.NewLogVerifier(key.str("verifier_key"))
		if err != nil {
			t.Fatalf("verifier_key: %v", err)
		}
		cp := h.do("GET", "/api/participants/log/checkpoint", nil)
		if cp.status != http.StatusOK || !strings.HasPrefix(cp.header.Get("Content-Type"), "text/plain") {
			t.Fatalf("checkpoint: %d %s %s", cp.status, cp.header.Get("Content-Type"), cp.raw)
		}
		c, _, err := drawlog.VerifyCheckpoint(string(cp.raw), verifier)
		if err != nil {
			t.Fatalf("the checkpoint does not verify with the key served: %v\n%s", err, cp.raw)
		}
		// Three v1 giveaways: each a commit, a freeze and a draw.
		if c.Origin != participant.DefaultLogOrigin || c.Size != 9 {
			t.Fatalf("checkpoint = %+v, want 9 entries of %s", c, participant.DefaultLogOrigin)
		}
		entries := h.logEntries(t, 0, c.Size+10) // an end beyond the log is cut
		if uint64(len(entries)) != c.Size {
			t.Fatalf("%d entries served, the checkpoint has %d", len(entries), c.Size)
		}
		counts := map[drawlog.Type]int{}
		leaves := make([]drawlog.Hash, len(entries))
		for i, data := range entries {
			e, err := drawlog.Parse(data)
			if err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
			counts[e.Type()]++
			leaves[i] = drawlog.LeafHash(data)
		}
		if counts[drawlog.TypeCommit] != 3 || counts[drawlog.TypeFreeze] != 3 || counts[drawlog.TypeDraw] != 3 {
			t.Fatalf("entry types = %v", counts)
		}
		if root := drawlog.RootHash(leaves); root != c.Root {
			t.Fatalf("the entries' root %s is not the checkpoint's %s", root, c.Root)
		}
		for i := range c.Size {
			p := h.do("GET", fmt.Sprintf("/api/participants/log/proof/inclusion?index=%d&tree_size=%d", i, c.Size), nil).expect(t, http.StatusOK, "")
			if err := drawlog.VerifyInclusion(i, c.Size, leaves[i], logHashes(t, p, "audit_path"), c.Root); err != nil {
				t.Errorf("inclusion of %d: %v", i, err)
			}
		}
		for first := uint64(1); first <= c.Size; first++ {
			p := h.do("GET", fmt.Sprintf("/api/participants/log/proof/consistency?first=%d&second=%d", first, c.Size), nil).expect(t, http.StatusOK, "")
			if err := drawlog.VerifyConsistency(first, c.Size, logHashes(t, p, "proof"), drawlog.RootHash(leaves[:first]), c.Root); err != nil {
				t.Errorf("consistency of %d with %d: %v", first, c.Size, err)
			}
		}
		if rest := h.logEntries(t, c.Size, c.Size+5); len(rest) != 0 {
			t.Fatalf("entries past the log: %d", len(rest))
		}

		// Bad and out-of-range parameters are refused, naming the one at
		// fault.
		big := "99999999999999999999"
		for _, c := range []struct{ path, code string }{
			{"/api/participants/log/entries", "INVALID_START"},
			{"/api/participants/log/entries?start=0", "INVALID_END"},
			{"/api/participants/log/entries?start=x&end=1", "INVALID_START"},
			{"/api/participants/log/entries?start=-1&end=1", "INVALID_START"},
			{"/api/participants/log/entries?start=0&end=" + big, "INVALID_END"},
			{"/api/participants/log/entries?start=5&end=2", "INVALID_END"},
			{"/api/participants/log/entries?start=0&end=1001", "INVALID_END"},
			{"/api/participants/log/proof/inclusion?index=0", "INVALID_TREE_SIZE"},
			{"/api/participants/log/proof/inclusion?index=0&tree_size=0", "INVALID_TREE_SIZE"},
			{"/api/participants/log/proof/inclusion?index=9&tree_size=9", "INVALID_INDEX"},
			{"/api/participants/log/proof/inclusion?index=1.5&tree_size=9", "INVALID_INDEX"},
			{"/api/participants/log/proof/consistency?first=0&second=1", "INVALID_FIRST"},
			{"/api/participants/log/proof/consistency?first=3&second=2", "INVALID_FIRST"},
			{"/api/participants/log/proof/consistency?first=1", "INVALID_SECOND"},
		} {
			r := h.do("GET", c.path, nil).expect(t, http.StatusBadRequest, c.code)
			if !strings.Contains(string(r.raw), "validation_errors") {
				t.Errorf("%s: no validation_errors: %s", c.path, r.raw)
			}
		}

		// A tree the log has not reached yet is a well-formed request
		// the log may answer later: 409, and no field is at fault.
		for _, path := range []string{
			"/api/participants/log/proof/inclusion?index=0&tree_size=10",
			"/api/participants/log/proof/inclusion?index=0&tree_size=" + fmt.Sprint(uint64(1)<<63),
			"/api/participants/log/proof/consistency?first=1&second=10",
			"/api/participants/log/proof/consistency?first=9&second=10",
		} {
			r := h.do("GET", path, nil).expect(t, http.StatusConflict, "TREE_SIZE_NOT_REACHED")
			if strings.Contains(string(r.raw), "validation_errors") || !strings.Contains(r.str("error"), "beyond the log, which has 9 entries") {
				t.Errorf("%s: %s", path, r.raw)
			}
		}
	})
}

// logReplica is another replica of the harness's deployment, on its
// store, with its log key and witnesses: it appends, signs and publishes
// checkpoints the harness then serves.
func logReplica(t *testing.T, h *harness, f *v2fixture) *participant.Service {
	t.Helper()
	var urls, keys []string
	var ws []participant.LogWitness
	for _, w := range f.witnesses {
		urls, keys = append(urls, w.URL()), append(keys, w.VerifierKey())
		ws = append(ws, participant.LogWitness{URL: w.URL(), Key: w.VerifierKey()})
	}
	parsed, err := witness.ParseWitnesses(urls, keys)
	if err != nil {
		t.Fatal(err)
	}
	o := defaultOptions()
	o.Log = participant.LogOptions{Signer: f.signer, Witnesses: ws,
		Cosigner: cosigner{&witness.Client{Witnesses: parsed, Timeout: 2 * time.Second}}}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	return participant.NewService(h.store, nil, nil, o)
}

// TestLogServesTheLatestCosignedCheckpoint: with witnesses, GET
// /log/checkpoint serves the latest checkpoint both cosigned, with their
// cosignatures, while a later one is signed but not yet cosigned; once it
// is, that one.
func TestLogServesTheLatestCosignedCheckpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h, f := newV2Harness(t, backend, true, 2, 5*time.Second)
		replica := logReplica(t, h, f)
		ctx := context.Background()
		logKey, err := drawlog.NewLogVerifier(f.signer.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		var witnesses []note.Verifier
		for _, w := range f.witnesses {
			witnesses = append(witnesses, w.Verifier())
		}
		served := func(want uint64) {
			t.Helper()
			r := h.do("GET", "/api/participants/log/checkpoint", nil)
			c, n, err := drawlog.VerifyCheckpoint(string(r.raw), logKey)
			if r.status != http.StatusOK || err != nil || c.Size != want {
				t.Fatalf("checkpoint: %d, size %d, %v; want size %d\n%s", r.status, c.Size, err, want, r.raw)
			}
			if _, err := drawlog.VerifyCosignatures(n, witnesses, len(witnesses)); err != nil {
				t.Fatalf("the checkpoint of size %d: %v\n%s", want, err, r.raw)
			}
		}
		for g := int64(1); g <= 2; g++ {
			if _, err := replica.CommitDraw(ctx, g); err != nil {
				t.Fatal(err)
			}
			if a, err := replica.PublishCheckpoint(ctx); err != nil || !a.Attested || a.TreeSize != uint64(g) {
				t.Fatalf("publish: %+v, %v", a, err)
			}
		}
		if _, err := replica.CommitDraw(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if c, err := replica.Checkpoint(ctx); err != nil || c.Size != 3 {
			t.Fatalf("checkpoint of size %d, %v; want 3", c.Size, err)
		}
		served(2)
		if a, err := replica.PublishCheckpoint(ctx); err != nil || !a.Attested || a.TreeSize != 3 {
			t.Fatalf("publish: %+v, %v", a, err)
		}
		served(3)
	})
}

// TestLogRoutesDoNotCollideWithGiveaways: "log" is no giveaway id: its
// paths reach the log or nothing, never a giveaway's routes, and the
// giveaway routes still work beside them.
func TestLogRoutesDoNotCollideWithGiveaways(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.join(12, 34)
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		// Before "log" was reserved, these reached the listing and the
		// count of a giveaway named "log" (400 INVALID_GIVEAWAY_ID).
		{"GET", "/api/participants/log", http.StatusNotFound, "NOT_FOUND"},
		{"GET", "/api/participants/log/count", http.StatusNotFound, "NOT_FOUND"},
		{"GET", "/api/participants/log/draw", http.StatusNotFound, "NOT_FOUND"},
		{"POST", "/api/participants/log/select-winners", http.StatusNotFound, "NOT_FOUND"},
		{"POST", "/api/participants/log/entries", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
		{"GET", "/api/participants/log/key", http.StatusOK, ""},
		{"GET", "/api/participants/12/count", http.StatusOK, ""},
		{"GET", "/api/participants/12", http.StatusOK, ""},
		{"GET", "/api/participants/12/draw", http.StatusOK, ""},
	} {
		r := h.do(c.method, c.path, nil)
		r.expect(t, c.status, c.code)
	}
	if r := h.do("GET", "/api/participants/12/count", nil); r.num("count") != 1 {
		t.Fatalf("count = %s", r.raw)
	}
}
