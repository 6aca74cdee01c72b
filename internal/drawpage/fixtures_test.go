package drawpage_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/telegive/participant-service/internal/drawpage"
	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/draw"
)

// v2Vectors is what the stand-in server needs of pkg/draw's v2 vectors.
type v2Vectors struct {
	LogKey    string   `json:"log_key"`
	Witnesses []string `json:"witnesses"`
	Draws     []struct {
		Input struct {
			GiveawayID int64 `json:"giveaway_id"`
		} `json:"input"`
		Output struct {
			Record         draw.Record `json:"record"`
			CurrentWinners []struct {
				UserID *int64 `json:"user_id"`
			} `json:"current_winners"`
			Proofs []draw.Proof `json:"proofs"`
		} `json:"output"`
	} `json:"draws"`
}

// startV2Fixtures starts a stand-in server for the v2 page on quicknet,
// whose real rounds the vectors use: /draws/ is the real drawpage.Handler
// (so the page, its assets and its CSP are the service's own), and
// /api/participants answers for every draw of the v2 vectors in the API's
// own types (pkg/api): the record, the current winners' proofs, each
// entrant's proof (404 PARTICIPANT_NOT_FOUND for anyone else) and the log
// key with both witnesses, quorum 2. It covers what the real service's
// draws in the test do not: several tickets an entrant, redraw rounds with
// empty positions, an unattested freeze.
func startV2Fixtures(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "pkg", "draw", "testdata", "vectors-v2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v v2Vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	type fixture struct {
		record  draw.Record
		winners []draw.Proof
		proofs  map[int64]draw.Proof
	}
	draws := map[int64]fixture{}
	for _, d := range v.Draws {
		f := fixture{record: d.Output.Record, winners: []draw.Proof{}, proofs: map[int64]draw.Proof{}}
		for _, p := range d.Output.Proofs {
			f.proofs[p.UserID] = p
		}
		for _, w := range d.Output.CurrentWinners {
			if w.UserID != nil {
				f.winners = append(f.winners, f.proofs[*w.UserID])
			}
		}
		draws[d.Input.GiveawayID] = f
	}
	witnesses := make([]api.LogWitness, len(v.Witnesses))
	for i, k := range v.Witnesses {
		name, _, _ := strings.Cut(k, "+")
		witnesses[i] = api.LogWitness{Name: name, VerifierKey: k, URL: "https://" + name}
	}
	origin, _, _ := strings.Cut(v.LogKey, "+")
	answer := func(w http.ResponseWriter, status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(body)
	}
	notFound := func(w http.ResponseWriter, code, msg string) {
		answer(w, http.StatusNotFound, map[string]any{"success": false, "error": msg, "error_code": code})
	}
	drawOf := func(w http.ResponseWriter, r *http.Request) (fixture, bool) {
		id, _ := strconv.ParseInt(r.PathValue("giveaway"), 10, 64)
		f, ok := draws[id]
		if !ok {
			notFound(w, "DRAW_NOT_FOUND", "no draw for this giveaway")
		}
		return f, ok
	}
	mux := http.NewServeMux()
	mux.Handle("/draws/", drawpage.Handler(http.HandlerFunc(drawpage.NotFoundPage)))
	mux.HandleFunc("GET /api/participants/log/key", func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusOK, api.LogKeyResponse{Success: true, Origin: origin, VerifierKey: v.LogKey, Witnesses: witnesses, Quorum: 2})
	})
	mux.HandleFunc("GET /api/participants/{giveaway}/draw", func(w http.ResponseWriter, r *http.Request) {
		if f, ok := drawOf(w, r); ok {
			answer(w, http.StatusOK, api.DrawResponse{Success: true, Draw: f.record})
		}
	})
	mux.HandleFunc("GET /api/participants/{giveaway}/draw/winner-proofs", func(w http.ResponseWriter, r *http.Request) {
		if f, ok := drawOf(w, r); ok {
			answer(w, http.StatusOK, api.WinnerProofsResponse{Success: true, Proofs: f.winners})
		}
	})
	mux.HandleFunc("GET /api/participants/{giveaway}/draw/proof/{user}", func(w http.ResponseWriter, r *http.Request) {
		f, ok := drawOf(w, r)
		if !ok {
			return
		}
		user, _ := strconv.ParseInt(r.PathValue("user"), 10, 64)
		if p, ok := f.proofs[user]; ok {
			answer(w, http.StatusOK, api.ProofResponse{Success: true, Proof: p})
			return
		}
		notFound(w, "PARTICIPANT_NOT_FOUND", "this user did not take part in the giveaway")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}
