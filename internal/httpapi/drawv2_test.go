package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/drand"
	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/witness"
	"github.com/telegive/participant-service/internal/witness/witnesstest"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// cosigner adapts witness.Client to the domain's port, as the application
// does.
type cosigner struct{ *witness.Client }

func (c cosigner) Cosign(ctx context.Context, n string, size uint64, f participant.ConsistencyFunc, known map[string]uint64) (string, []drawlog.Cosignature, error) {
	return c.Client.Cosign(ctx, n, size, witness.ConsistencyFunc(f), known)
}

// v2fixture is what a v2 deployment pins: its test chain, the log's key
// and its witnesses.
type v2fixture struct {
	chain     *drandtest.Chain
	relay     *drandtest.Relay
	signer    participant.LogSigner
	witnesses []*witnesstest.Witness
}

// newV2Harness serves telegive-draw-v2 on the backend: a chain of one round
// a second, one relay (up or down), the given number of witnesses (all
// needed) and the beacon delay.
func newV2Harness(t *testing.T, backend string, relayUp bool, witnesses int, delay time.Duration, options ...harnessOption) (*harness, *v2fixture) {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, participant.DefaultLogOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := participant.NewLogSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	f := &v2fixture{chain: drandtest.NewChain(t, time.Second, time.Now().Add(-time.Hour)), signer: signer}
	f.relay = f.chain.Relay(t, drandtest.Live)
	f.relay.SetAvailable(relayUp)
	beacons, err := drand.New(drand.Options{Chain: f.chain.Info, Relays: []string{f.relay.URL}, Timeout: time.Second,
		BreakerFailures: 3, BreakerOpen: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var urls, keys []string
	var ws []participant.LogWitness
	for i := range witnesses {
		w := witnesstest.New(t, fmt.Sprintf("witness.example/w%d", i+1), participant.DefaultLogOrigin, signer.VerifierKey())
		f.witnesses = append(f.witnesses, w)
		urls, keys = append(urls, w.URL()), append(keys, w.VerifierKey())
		ws = append(ws, participant.LogWitness{URL: w.URL(), Key: w.VerifierKey()})
	}
	opts := append([]harnessOption{withRealClock(), withOptions(func(o *participant.Options) {
		o.DrawVersion, o.BeaconDelay, o.Beacons = draw.VersionV2, delay, beacons
		o.Log = participant.LogOptions{Signer: signer, Witnesses: ws}
		if witnesses > 0 {
			parsed, err := witness.ParseWitnesses(urls, keys)
			if err != nil {
				t.Fatal(err)
			}
			o.Log.Cosigner = cosigner{&witness.Client{Witnesses: parsed, Timeout: 2 * time.Second}}
		}
		if err := o.Validate(); err != nil {
			t.Fatal(err)
		}
	})}, options...)
	return newHarness(t, backend, opts...), f
}

// record decodes the draw object of a reply.
func record(t *testing.T, r reply) draw.Record {
	t.Helper()
	var body struct {
		Draw draw.Record `json:"draw"`
	}
	if err := json.Unmarshal(r.raw, &body); err != nil {
		t.Fatalf("undecodable draw: %v: %s", err, r.raw)
	}
	return body.Draw
}

// verifyOptions is what a verifier pins for the fixture's draws, with the
// log entries and entrant list the service serves.
func (f *v2fixture) verifyOptions(t *testing.T, h *harness, giveawayID int64, rec draw.Record) draw.VerifyOptions {
	t.Helper()
	logKey, err := drawlog.NewLogVerifier(f.signer.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	o := draw.VerifyOptions{Chain: &f.chain.Info, LogKey: logKey, LogEntries: map[uint64][]byte{}}
	for _, w := range f.witnesses {
		o.Witnesses = append(o.Witnesses, w.Verifier())
	}
	var last uint64
	for _, ref := range rec.Log {
		last = max(last, ref.Index)
	}
	for i, data := range h.logEntries(t, 0, last+1) {
		o.LogEntries[uint64(i)] = data
	}
	r := h.do("GET", fmt.Sprintf("/api/participants/%d/draw/entrants", giveawayID), nil)
	if r.status != http.StatusOK {
		t.Fatalf("entrants: %d %s", r.status, r.raw)
	}
	o.Entrants, o.Tickets, err = draw.ReadEntrantList(bytes.NewReader(r.raw))
	if err != nil {
		t.Fatalf("the v2 entrant list: %v: %q", err, r.raw)
	}
	return o
}

// TestV2DrawOverHTTP: a v2 giveaway registers, select-winners freezes it
// (registration then refused with GIVEAWAY_NOT_ACTIVE), waits for the
// round and answers a v2 record that pkg/draw verifies with the pinned
// chain, log key and witnesses; the checkpoint served carries the
// witnesses' cosignatures; a v2 redraw takes only the fixed reasons.
func TestV2DrawOverHTTP(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		const delay = 5 * time.Second
		h, f := newV2Harness(t, backend, true, 2, delay)
		const gid = 41
		for u := int64(1); u <= 6; u++ {
			h.join(gid, u)
		}
		h.join(gid+1, 99) // passes the captcha, for the late registration below
		before := h.do("GET", fmt.Sprintf("/api/participants/%d/draw", gid), nil).expect(t, http.StatusOK, "")
		if rec := record(t, before); rec.Version != draw.VersionV2 || rec.Status != draw.StatusCommitted || rec.ChainHash != draw.Hash(f.chain.Info.Hash) {
			t.Fatalf("before the draw: %s", before.raw)
		}

		type answer struct {
			r       reply
			elapsed time.Duration
		}
		done := make(chan answer, 1)
		start := time.Now()
		go func() {
			r := h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", gid), map[string]any{"winner_count": 2})
			done <- answer{r, time.Since(start)}
		}()
		// While the draw waits for its round, the giveaway is frozen and
		// refuses registrations.
		deadline := time.Now().Add(delay)
		for {
			r := h.do("GET", fmt.Sprintf("/api/participants/%d/draw", gid), nil).expect(t, http.StatusOK, "")
			if record(t, r).Status == draw.StatusFrozen {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the draw never froze: %s", r.raw)
			}
			time.Sleep(50 * time.Millisecond)
		}
		late := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": gid, "user_id": 99})
		late.expect(t, http.StatusConflict, "GIVEAWAY_NOT_ACTIVE")

		a := <-done
		sel := a.r.expect(t, http.StatusOK, "")
		if sel.str("protocol") != draw.VersionV2 || !sel.flag("public_randomness") || sel.str("selection_method") != draw.VersionV2 ||
			sel.num("winner_count_selected") != 2 || sel.num("total_participants") != 6 {
			t.Fatalf("select-winners: %s", sel.raw)
		}
		if a.elapsed > delay+5*time.Second {
			t.Errorf("select-winners took %v with a %v beacon delay", a.elapsed, delay)
		}
		rec := record(t, sel)
		if rec.Status != draw.StatusDrawn || !rec.FreezeAttested || rec.FreezeAttestation == nil || len(rec.BeaconSignature) != 48 {
			t.Fatalf("record: %s", sel.raw)
		}
		opts := f.verifyOptions(t, h, gid, rec)
		rep, err := draw.VerifyReport(rec, opts)
		if err != nil {
			t.Fatalf("the v2 record does not verify: %v\n%s", err, sel.raw)
		}
		for _, s := range rep.Skipped {
			if s.Check == "attestation" || s.Check == "beacon" || s.Check == "log" || s.Check == "entrants" {
				t.Errorf("check %s skipped: %s", s.Check, s.Reason)
			}
		}
		again := h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", gid), map[string]any{"winner_count": 2}).expect(t, http.StatusOK, "")
		if !again.flag("already_selected") || !bytes.Equal(mustJSON(t, record(t, again)), mustJSON(t, rec)) {
			t.Fatalf("the repeated call differs: %s", again.raw)
		}

		// The checkpoint served verifies with the log's key and carries a
		// cosignature of every witness.
		cp := h.do("GET", "/api/participants/log/checkpoint", nil)
		_, n, err := drawlog.VerifyCheckpoint(string(cp.raw), opts.LogKey)
		if err != nil {
			t.Fatalf("checkpoint: %v\n%s", err, cp.raw)
		}
		if cos, err := drawlog.VerifyCosignatures(n, opts.Witnesses, len(opts.Witnesses)); err != nil || len(cos) != 2 {
			t.Fatalf("checkpoint cosignatures: %v, %v\n%s", cos, err, cp.raw)
		}
		key := h.do("GET", "/api/participants/log/key", nil).expect(t, http.StatusOK, "")
		ws, _ := key.body["witnesses"].([]any)
		if key.str("verifier_key") != f.signer.VerifierKey() || key.num("quorum") != 2 || len(ws) != 2 ||
			ws[0].(map[string]any)["name"] != "witness.example/w1" || ws[0].(map[string]any)["url"] != f.witnesses[0].URL() {
			t.Fatalf("key: %s", key.raw)
		}

		// A v2 redraw takes only the fixed reasons, listing them.
		winner := rec.Winners[0].UserID
		bad := h.do("POST", fmt.Sprintf("/api/participants/%d/redraw", gid), map[string]any{
			"disqualified_user_ids": []int64{winner}, "reason": "left the channel"}).expect(t, http.StatusBadRequest, "INVALID_REASON")
		for _, r := range draw.Reasons() {
			if !strings.Contains(string(bad.raw), string(r)) {
				t.Errorf("the refusal does not list %s: %s", r, bad.raw)
			}
		}
		rd := h.do("POST", fmt.Sprintf("/api/participants/%d/redraw", gid), map[string]any{
			"disqualified": []map[string]any{{"user_id": winner, "reason": "fraud"}}}).expect(t, http.StatusOK, "")
		dq, _ := rd.body["disqualified"].([]any)
		if rd.num("round") != 1 || rd.str("reason") != "fraud" || len(dq) != 1 || dq[0].(map[string]any)["reason"] != "fraud" {
			t.Fatalf("redraw: %s", rd.raw)
		}
		after := record(t, rd)
		if len(after.Replacements) != 1 || after.Replacements[0].BeaconRound <= rec.BeaconRound {
			t.Fatalf("redraw round: %s", rd.raw)
		}
		if err := draw.Verify(after, f.verifyOptions(t, h, gid, after)); err != nil {
			t.Fatalf("the record after the redraw does not verify: %v\n%s", err, rd.raw)
		}
	})
}

// TestBeaconUnavailableThenTheSameRound: with every relay down,
// select-winners answers 503 BEACON_UNAVAILABLE with Retry-After before its
// deadline, the giveaway stays frozen on its round, and once a relay is
// back the retry draws on that same round.
func TestBeaconUnavailableThenTheSameRound(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		const drawTimeout = 8 * time.Second
		h, f := newV2Harness(t, backend, false, 0, 2*time.Second, withAPI(func(o *httpapi.Options) { o.DrawTimeout = drawTimeout }))
		const gid = 7
		for u := int64(10); u <= 14; u++ {
			h.join(gid, u)
		}
		start := time.Now()
		r := h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", gid), map[string]any{"winner_count": 1})
		elapsed := time.Since(start)
		r.expect(t, http.StatusServiceUnavailable, "BEACON_UNAVAILABLE")
		if elapsed >= drawTimeout {
			t.Fatalf("BEACON_UNAVAILABLE came after %v, not before the %v deadline", elapsed, drawTimeout)
		}
		if r.header.Get("Retry-After") == "" || r.num("retry_after") < 1 {
			t.Fatalf("no Retry-After: %v %s", r.header, r.raw)
		}
		frozen := record(t, h.do("GET", fmt.Sprintf("/api/participants/%d/draw", gid), nil).expect(t, http.StatusOK, ""))
		if frozen.Status != draw.StatusFrozen || frozen.BeaconRound == 0 || frozen.FreezeAttested {
			t.Fatalf("after BEACON_UNAVAILABLE the draw is %+v", frozen)
		}

		f.relay.SetAvailable(true)
		time.Sleep(600 * time.Millisecond) // the relay's breaker half-opens
		sel := h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", gid), map[string]any{"winner_count": 1}).expect(t, http.StatusOK, "")
		rec := record(t, sel)
		if rec.Status != draw.StatusDrawn || rec.BeaconRound != frozen.BeaconRound || rec.FrozenAt != frozen.FrozenAt || rec.EntrantsRoot != frozen.EntrantsRoot {
			t.Fatalf("the retry drew on round %d (frozen on %d): %s", rec.BeaconRound, frozen.BeaconRound, sel.raw)
		}
		if err := draw.Verify(rec, f.verifyOptions(t, h, gid, rec)); err != nil {
			t.Fatalf("the record does not verify: %v\n%s", err, sel.raw)
		}
	})
}
