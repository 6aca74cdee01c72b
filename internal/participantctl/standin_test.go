package participantctl_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/witness"
	"github.com/telegive/participant-service/internal/witness/witnesstest"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

const testOrigin = "telegive.org/participant-service/draw-log"

// standIn is a stand-in for the service's v2 endpoints: draw records,
// proofs and entrant lists of giveaways drawn in the test with pkg/draw,
// and the draw log they are logged in, signed with a test key and
// cosigned by two test witnesses, over a test drand chain.
type standIn struct {
	t         *testing.T
	chain     *drandtest.Chain
	chainFile string
	signer    note.Signer
	logVKey   string
	witnesses []*witnesstest.Witness
	wc        *witness.Client
	clock     atomic.Int64 // the witnesses' time, Unix seconds
	url       string

	mu         sync.Mutex
	entries    [][]byte
	tree       *testonly.Tree
	checkpoint string
	records    map[int64]draw.Record
	sumTrees   map[int64]*draw.SumTree
	v1Lists    map[int64][]int64
	// recordHook rewrites the record served, as a lying service would;
	// entryHook rewrites the log entries served.
	recordHook   func(r *draw.Record)
	entryHook    func(index uint64, data []byte) []byte
	recordServed map[int64]int
	// rulesHook rewrites the rules answer served (status and body); nil
	// serves rulesJSON.
	rulesHook func(body map[string]any) int
}

// base is when the test giveaways are frozen, give or take.
var base = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)

func newStandIn(t *testing.T) *standIn {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	s := &standIn{t: t, chain: drandtest.NewChain(t, 3*time.Second, base.Add(-24*time.Hour)), signer: signer, logVKey: vkey,
		tree: testonly.New(rfc6962.DefaultHasher), records: map[int64]draw.Record{}, sumTrees: map[int64]*draw.SumTree{},
		v1Lists: map[int64][]int64{}, recordServed: map[int64]int{}}
	s.clock.Store(base.Unix())
	for _, name := range []string{"witness.example/one", "witness.example/two"} {
		w := witnesstest.New(t, name, testOrigin, vkey)
		w.SetClock(func() time.Time { return time.Unix(s.clock.Load(), 0) })
		s.witnesses = append(s.witnesses, w)
		v, err := drawlog.NewWitnessVerifier(w.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		if s.wc == nil {
			s.wc = &witness.Client{}
		}
		s.wc.Witnesses = append(s.wc.Witnesses, witness.Witness{URL: w.URL(), Verifier: v})
	}
	info, err := json.Marshal(s.chain.Info)
	if err != nil {
		t.Fatal(err)
	}
	s.chainFile = filepath.Join(t.TempDir(), "chain-info.json")
	if err := os.WriteFile(s.chainFile, info, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.handler())
	t.Cleanup(srv.Close)
	s.url = srv.URL
	s.publish(false)
	return s
}

// pinned returns the flags that pin the stand-in's chain and keys.
func (s *standIn) pinned(logFlag string) []string {
	return []string{"--chain-info", s.chainFile, logFlag, s.logVKey, "--witness-key", s.witnesses[0].VerifierKey(), "--witness-key", s.witnesses[1].VerifierKey()}
}

func (s *standIn) appendEntry(e drawlog.Entry, err error) uint64 {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
	b, err := drawlog.Marshal(e)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.appendRaw(b)
}

func (s *standIn) appendRaw(b []byte) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, b)
	s.tree.AppendData(b)
	return s.tree.Size() - 1
}

// rebuild replaces the log by entries, as an operator rewriting it would.
func (s *standIn) rebuild(entries [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = entries
	s.tree = testonly.New(rfc6962.DefaultHasher)
	s.tree.AppendData(entries...)
}

func (s *standIn) logEntries() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.entries...)
}

// publish signs a checkpoint of the whole log and, when cosign, has the
// witnesses cosign it at the witnesses' clock; it becomes the checkpoint
// served.
func (s *standIn) publish(cosign bool) string {
	s.t.Helper()
	s.mu.Lock()
	size, root, tree := s.tree.Size(), drawlog.Hash(s.tree.Hash()), s.tree
	s.mu.Unlock()
	signed, err := drawlog.SignCheckpoint(s.signer, testOrigin, size, root)
	if err != nil {
		s.t.Fatal(err)
	}
	if cosign {
		consistency := func(_ context.Context, from, to uint64) ([][]byte, error) { return tree.ConsistencyProof(from, to) }
		if signed, _, err = s.wc.Cosign(context.Background(), signed, size, consistency, nil); err != nil {
			s.t.Fatal(err)
		}
	}
	s.mu.Lock()
	s.checkpoint = signed
	s.mu.Unlock()
	return signed
}

// attestation shows entry index under the checkpoint cp just published.
func (s *standIn) attestation(cp string, index uint64) *draw.Attestation {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	size := s.tree.Size()
	proof, err := s.tree.InclusionProof(index, size)
	if err != nil {
		s.t.Fatal(err)
	}
	a := &draw.Attestation{Checkpoint: cp, LeafIndex: index, TreeSize: size, AuditPath: []draw.Hash{}}
	for _, p := range proof {
		a.AuditPath = append(a.AuditPath, draw.Hash(p))
	}
	return a
}

// v2Spec is a v2 giveaway to draw.
type v2Spec struct {
	id int64
	// entrants: n entrants, user ids 1000*i+id, tickets 1 + i%4, or
	// 2 + i%3 with twoOrMore.
	n         int
	twoOrMore bool
	k         uint64
	attest    bool
	// late has the witnesses cosign the freeze 1 s after the deadline.
	late bool
	// redraw disqualifies winner 2 for fraud in one redraw round.
	redraw bool
	// frozenAt is when the entrants are frozen.
	frozenAt time.Time
}

func seedOf(id int64) []byte {
	s := sha256.Sum256([]byte("server seed " + strconv.FormatInt(id, 10)))
	return s[:]
}

// rulesJSON is the rules every v2 test giveaway commits to, in the RFC
// 8785 form the service serves; rulesHash is their SHA-256.
const rulesJSON = `{"exclude_admins":true,"max_tickets":5,"min_account_age_days":30,"premium_only":false,"recheck_at_draw":true,` +
	`"referral_bonus":0,"required_chats":["-1001234567890","@telegive_news"]}`

var rulesHash = draw.Hash(sha256.Sum256([]byte(rulesJSON)))

// drawV2 carries out a v2 draw through every step, logging each event.
func (s *standIn) drawV2(spec v2Spec) draw.Record {
	s.t.Helper()
	t := s.t
	qc := s.chain.Info
	rh := rulesHash
	rec, err := draw.Commit(draw.CommitInput{GiveawayID: spec.id, ServerSeed: seedOf(spec.id), CommittedAt: spec.frozenAt.Add(-time.Hour),
		Chain: qc, BeaconDelay: 10, MaxTickets: 5, RulesSHA256: &rh})
	if err != nil {
		t.Fatal(err)
	}
	logged := func(typ drawlog.Type, i uint64) { rec.Log = append(rec.Log, draw.LogRef{Type: typ, Index: i}) }
	logged(drawlog.TypeCommit, s.appendEntry(rec.CommitEntry(rec.LogHeader(0))))
	var ids []int64
	var tickets []uint64
	for i := range spec.n {
		ids = append(ids, int64(1000*(i+1))+spec.id)
		if spec.twoOrMore {
			tickets = append(tickets, uint64(2+i%3))
		} else {
			tickets = append(tickets, uint64(1+i%4))
		}
	}
	tree, err := draw.NewSumTree(ids, tickets)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err = rec.Freeze(draw.FreezeInput{Entrants: tree, WinnerCount: spec.k, FrozenAt: spec.frozenAt, Chain: qc}); err != nil {
		t.Fatal(err)
	}
	fi := s.appendEntry(rec.FreezeEntry(rec.LogHeader(1)))
	logged(drawlog.TypeFreeze, fi)
	if spec.attest {
		at := spec.frozenAt.Add(time.Second)
		if spec.late {
			at = qc.RoundTime(rec.BeaconRound).Add(-draw.CosignatureMargin + time.Second)
		}
		s.clock.Store(at.Unix())
		rec.FreezeAttested = true
		rec.FreezeAttestation = s.attestation(s.publish(true), fi)
	}
	rec, err = rec.DrawWinners(draw.DrawInput{ServerSeed: seedOf(spec.id), Entrants: tree, BeaconSignature: s.chain.Sign(rec.BeaconRound),
		DrawnAt: qc.RoundTime(rec.BeaconRound), Chain: qc})
	if err != nil {
		t.Fatal(err)
	}
	logged(drawlog.TypeDraw, s.appendEntry(rec.DrawEntry(rec.LogHeader(2))))
	if spec.redraw {
		gone := rec.CurrentWinners()[1]
		requestedAt := rec.DrawnAt.Add(time.Minute)
		req, err := rec.RequestRedraw([]draw.Disqualification{{UserID: gone.UserID, Reason: draw.ReasonFraud}}, requestedAt, qc)
		if err != nil {
			t.Fatal(err)
		}
		ri := s.appendEntry(req.RequestEntry(rec.LogHeader(len(rec.Log))))
		logged(drawlog.TypeRedrawRequest, ri)
		if spec.attest {
			s.clock.Store(requestedAt.Add(time.Second).Unix())
			req.RequestAttestation = s.attestation(s.publish(true), ri)
		}
		rd, err := rec.CompleteRedraw(req, draw.RedrawInput{Entrants: tree, BeaconSignature: s.chain.Sign(req.BeaconRound),
			RedrawnAt: qc.RoundTime(req.BeaconRound), Chain: qc})
		if err != nil {
			t.Fatal(err)
		}
		rec.Replacements = append(rec.Replacements, rd)
		logged(drawlog.TypeRedraw, s.appendEntry(rec.RedrawEntry(rec.LogHeader(len(rec.Log)), 1)))
	}
	s.clock.Store(rec.DrawnAt.Add(time.Hour).Unix())
	s.publish(true)
	s.mu.Lock()
	s.records[spec.id], s.sumTrees[spec.id] = rec, tree
	s.mu.Unlock()
	return rec
}

// drawV1 draws a v1 giveaway of n entrants and logs its commit, freeze
// and draw as the service logs v1 events.
func (s *standIn) drawV1(id int64, n int) draw.Record {
	s.t.Helper()
	var ids []int64
	for i := range n {
		ids = append(ids, int64(1000*(i+1))+id)
	}
	rec, err := draw.Draw(draw.Input{GiveawayID: id, ServerSeed: seedOf(id), CommittedAt: base.Add(-2 * time.Hour), DrawnAt: base.Add(-time.Hour),
		Entrants: ids, WinnerCount: 2})
	if err != nil {
		s.t.Fatal(err)
	}
	ci := s.appendEntry(rec.CommitEntry(drawlog.Header{GiveawayID: id}))
	fi := s.appendEntry(rec.FreezeEntry(drawlog.Header{GiveawayID: id, Seq: 1, Prev: &ci}))
	s.appendEntry(rec.DrawEntry(drawlog.Header{GiveawayID: id, Seq: 2, Prev: &fi}))
	s.publish(true)
	s.mu.Lock()
	s.records[id], s.v1Lists[id] = rec, ids
	s.mu.Unlock()
	return rec
}

// secondFreeze logs another freeze of a drawn v2 giveaway, chained after
// its last entry, as an operator re-running the draw would.
func (s *standIn) secondFreeze(id int64) uint64 {
	s.t.Helper()
	s.mu.Lock()
	rec := s.records[id]
	s.mu.Unlock()
	i := s.appendEntry(rec.FreezeEntry(rec.LogHeader(len(rec.Log))))
	s.publish(true)
	return i
}

func (s *standIn) servedRecords(id int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recordServed[id]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]any{"success": false, "error": code, "error_code": code})
}

func uintParam(r *http.Request, name string) (uint64, bool) {
	n, err := strconv.ParseUint(r.URL.Query().Get(name), 10, 64)
	return n, err == nil
}

func (s *standIn) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/participants/log/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		cp := s.checkpoint
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, cp)
	})
	mux.HandleFunc("GET /api/participants/log/key", func(w http.ResponseWriter, r *http.Request) {
		var ws []map[string]string
		for _, wt := range s.witnesses {
			ws = append(ws, map[string]string{"name": wt.Name(), "verifier_key": wt.VerifierKey(), "url": wt.URL()})
		}
		writeJSON(w, 200, map[string]any{"success": true, "origin": testOrigin, "verifier_key": s.logVKey, "witnesses": ws, "quorum": len(ws)})
	})
	mux.HandleFunc("GET /api/participants/log/entries", func(w http.ResponseWriter, r *http.Request) {
		start, ok1 := uintParam(r, "start")
		end, ok2 := uintParam(r, "end")
		if !ok1 || !ok2 || end < start {
			writeError(w, 400, "VALIDATION_ERROR")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		end = min(end, start+1000, uint64(len(s.entries)))
		out := []map[string]any{}
		for i := start; i < end; i++ {
			data := s.entries[i]
			if s.entryHook != nil {
				data = s.entryHook(i, data)
			}
			out = append(out, map[string]any{"index": i, "data": data})
		}
		writeJSON(w, 200, map[string]any{"success": true, "entries": out})
	})
	mux.HandleFunc("GET /api/participants/log/proof/inclusion", func(w http.ResponseWriter, r *http.Request) {
		index, ok1 := uintParam(r, "index")
		size, ok2 := uintParam(r, "tree_size")
		s.mu.Lock()
		proof, err := s.tree.InclusionProof(index, size)
		s.mu.Unlock()
		if !ok1 || !ok2 || err != nil || index >= size {
			writeError(w, 400, "VALIDATION_ERROR")
			return
		}
		writeJSON(w, 200, map[string]any{"success": true, "audit_path": hashes(proof)})
	})
	mux.HandleFunc("GET /api/participants/log/proof/consistency", func(w http.ResponseWriter, r *http.Request) {
		first, ok1 := uintParam(r, "first")
		second, ok2 := uintParam(r, "second")
		s.mu.Lock()
		proof, err := s.tree.ConsistencyProof(first, second)
		s.mu.Unlock()
		if !ok1 || !ok2 || err != nil {
			writeError(w, 400, "VALIDATION_ERROR")
			return
		}
		writeJSON(w, 200, map[string]any{"success": true, "proof": hashes(proof)})
	})
	giveaway := func(r *http.Request) (draw.Record, *draw.SumTree, []int64, bool) {
		id, err := strconv.ParseInt(r.PathValue("gid"), 10, 64)
		s.mu.Lock()
		defer s.mu.Unlock()
		rec, ok := s.records[id]
		return rec, s.sumTrees[id], s.v1Lists[id], err == nil && ok
	}
	mux.HandleFunc("GET /api/participants/{gid}/draw", func(w http.ResponseWriter, r *http.Request) {
		rec, _, _, ok := giveaway(r)
		if !ok {
			writeError(w, 404, "DRAW_NOT_FOUND")
			return
		}
		s.mu.Lock()
		s.recordServed[rec.GiveawayID]++
		hook := s.recordHook
		s.mu.Unlock()
		if hook != nil {
			// A deep copy, so the hook cannot touch the stored record.
			b, _ := json.Marshal(rec)
			rec = draw.Record{}
			if err := json.Unmarshal(b, &rec); err != nil {
				s.t.Error(err)
			}
			hook(&rec)
		}
		writeJSON(w, 200, map[string]any{"success": true, "draw": rec})
	})
	proofOf := func(rec draw.Record, tree *draw.SumTree, list []int64, uid int64) (draw.Proof, error) {
		if tree != nil {
			return rec.TicketProof(tree, uid)
		}
		return rec.Proof(list, uid)
	}
	mux.HandleFunc("GET /api/participants/{gid}/rules", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("gid"), 10, 64)
		if err != nil {
			writeError(w, 400, "VALIDATION_ERROR")
			return
		}
		body := map[string]any{"success": true, "giveaway_id": id, "rules": json.RawMessage(rulesJSON),
			"rules_sha256": rulesHash.String(), "custom": true, "locked": true}
		s.mu.Lock()
		hook := s.rulesHook
		s.mu.Unlock()
		status := 200
		if hook != nil {
			status = hook(body)
		}
		if status != 200 {
			writeError(w, status, "INTERNAL_ERROR")
			return
		}
		writeJSON(w, status, body)
	})
	mux.HandleFunc("GET /api/participants/{gid}/draw/winner-proofs", func(w http.ResponseWriter, r *http.Request) {
		rec, tree, list, ok := giveaway(r)
		if !ok {
			writeError(w, 404, "DRAW_NOT_FOUND")
			return
		}
		out := []draw.Proof{}
		for _, win := range rec.CurrentWinners() {
			p, err := proofOf(rec, tree, list, win.UserID)
			if err != nil {
				s.t.Error(err)
			}
			out = append(out, p)
		}
		writeJSON(w, 200, map[string]any{"success": true, "proofs": out})
	})
	mux.HandleFunc("GET /api/participants/{gid}/draw/proof/{uid}", func(w http.ResponseWriter, r *http.Request) {
		rec, tree, list, ok := giveaway(r)
		uid, err := strconv.ParseInt(r.PathValue("uid"), 10, 64)
		if !ok || err != nil {
			writeError(w, 404, "DRAW_NOT_FOUND")
			return
		}
		p, err := proofOf(rec, tree, list, uid)
		switch {
		case errors.Is(err, draw.ErrNotEntered):
			writeError(w, 404, "PARTICIPANT_NOT_FOUND")
		case err != nil:
			writeError(w, 500, "INTERNAL_ERROR")
		default:
			writeJSON(w, 200, map[string]any{"success": true, "proof": p})
		}
	})
	mux.HandleFunc("GET /api/participants/{gid}/draw/entrants", func(w http.ResponseWriter, r *http.Request) {
		_, tree, list, ok := giveaway(r)
		if !ok {
			writeError(w, 404, "DRAW_NOT_FOUND")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if tree == nil {
			for _, id := range list {
				fmt.Fprintln(w, id)
			}
			return
		}
		ids, tickets := make([]int64, tree.Len()), make([]uint64, tree.Len())
		for i := range tree.Len() {
			ids[i], tickets[i], _ = tree.Entrant(i)
		}
		_ = draw.WriteEntrantList(w, ids, tickets)
	})
	return mux
}

func hashes(proof [][]byte) []draw.Hash {
	out := []draw.Hash{}
	for _, p := range proof {
		out = append(out, draw.Hash(p))
	}
	return out
}
