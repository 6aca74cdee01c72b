package httpapi

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// codeInvalidStart refuses an unreadable start of /log/entries; the
// domain's codes cover the other parameters.
const codeInvalidStart participant.Code = "INVALID_START"

// handleLogCheckpoint serves GET /api/participants/log/checkpoint: the
// draw log's checkpoint as Service.LogCheckpoint chooses it (the latest a
// quorum of the witnesses cosigned, when there are witnesses), a
// text/plain note with the witnesses' cosignature lines.
func (s *Server) handleLogCheckpoint(w http.ResponseWriter, r *http.Request) {
	c, err := s.svc.LogCheckpoint(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(c.Note))
}

// handleLogKey serves GET /api/participants/log/key.
func (s *Server) handleLogKey(w http.ResponseWriter, r *http.Request) {
	k, err := s.svc.LogKey(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ws := make([]api.LogWitness, len(k.Witnesses))
	for i, wt := range k.Witnesses {
		name, _, _ := strings.Cut(wt.Key, "+")
		ws[i] = api.LogWitness{Name: name, VerifierKey: wt.Key, URL: wt.URL}
	}
	writeJSON(w, http.StatusOK, api.LogKeyResponse{Success: true, Origin: k.Origin, VerifierKey: k.VerifierKey, Witnesses: ws, Quorum: k.Quorum})
}

// handleLogEntries serves GET /api/participants/log/entries?start=&end=:
// the entries with indices in [start, end), at most 1,000; an end beyond
// the log is cut to its size.
func (s *Server) handleLogEntries(w http.ResponseWriter, r *http.Request) {
	var v participant.Validation
	start := queryUint(r, "start", codeInvalidStart, &v)
	end := queryUint(r, "end", participant.CodeInvalidEnd, &v)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	es, err := s.svc.LogEntries(r.Context(), start, end)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]api.LogEntry, len(es))
	for i, e := range es {
		out[i] = api.LogEntry{Index: e.Index, Data: e.Data}
	}
	writeJSON(w, http.StatusOK, api.LogEntriesResponse{Success: true, Entries: out})
}

// handleLogInclusion serves GET
// /api/participants/log/proof/inclusion?index=&tree_size=.
func (s *Server) handleLogInclusion(w http.ResponseWriter, r *http.Request) {
	var v participant.Validation
	index := queryUint(r, "index", participant.CodeInvalidIndex, &v)
	size := queryUint(r, "tree_size", participant.CodeInvalidTreeSize, &v)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	path, err := s.svc.LogInclusionProof(r.Context(), index, size)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.LogInclusionResponse{Success: true, AuditPath: hexHashes(path)})
}

// handleLogConsistency serves GET
// /api/participants/log/proof/consistency?first=&second=.
func (s *Server) handleLogConsistency(w http.ResponseWriter, r *http.Request) {
	var v participant.Validation
	first := queryUint(r, "first", participant.CodeInvalidFirst, &v)
	second := queryUint(r, "second", participant.CodeInvalidSecond, &v)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.svc.LogConsistencyProof(r.Context(), first, second)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.LogConsistencyResponse{Success: true, Proof: hexHashes(p)})
}

// hexHashes is never nil, so that an empty proof is [] rather than null.
func hexHashes(hs []drawlog.Hash) []draw.Hash {
	out := make([]draw.Hash, len(hs))
	for i, h := range hs {
		out[i] = draw.Hash(h)
	}
	return out
}

// queryUint reads a required whole-number query parameter, refusing it
// with code when it is absent or not one.
func queryUint(r *http.Request, name string, code participant.Code, v *participant.Validation) uint64 {
	s := r.URL.Query().Get(name)
	n, err := strconv.ParseUint(s, 10, 64)
	switch {
	case s == "":
		v.Add(name, code, "%s is required: a whole number, 0 or more", name)
	case errors.Is(err, strconv.ErrRange):
		v.Add(name, code, "%s is out of range: at most %d", name, uint64(math.MaxUint64))
	case err != nil:
		v.Add(name, code, "%s must be a whole number, 0 or more", name)
	}
	return n
}
