package participant_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/drand"
	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/witness"
	"github.com/telegive/participant-service/internal/witness/witnesstest"
	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// testBeaconDelay is the v2 beacon delay of the tests: on a chain of one
// round a second, long enough for local witnesses to cosign before the
// round's time minus the 3 s margin, short enough to keep the tests quick.
const testBeaconDelay = 5 * time.Second

// cosigner adapts witness.Client, whose consistency function is its own
// named type, to the domain's port, as the application does.
type cosigner struct{ *witness.Client }

func (c cosigner) Cosign(ctx context.Context, n string, size uint64, f participant.ConsistencyFunc, known map[string]uint64) (string, []drawlog.Cosignature, error) {
	return c.Client.Cosign(ctx, n, size, witness.ConsistencyFunc(f), known)
}

// v2env is a v2 deployment for a test: a store, a test drand chain with
// relays, a log key and witnesses.
type v2env struct {
	t         *testing.T
	store     *store.Store
	chain     *drandtest.Chain
	signer    participant.LogSigner
	witnesses []*witnesstest.Witness
	quorum    int
	events    *events
}

// events records the attestation events a service reports.
type events struct {
	mu   sync.Mutex
	list []participant.AttestationEvent
}

func (e *events) add(ev participant.AttestationEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

func (e *events) all() []participant.AttestationEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]participant.AttestationEvent(nil), e.list...)
}

// newV2Env sets up a deployment on the backend with the given number of
// witnesses, all needed.
func newV2Env(t *testing.T, backend string, witnesses int) *v2env {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, participant.DefaultLogOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := participant.NewLogSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	e := &v2env{
		t:      t,
		store:  testenv.OpenStore(t, backend),
		chain:  drandtest.NewChain(t, time.Second, time.Now().Add(-time.Hour)),
		signer: signer,
		events: &events{},
	}
	for i := range witnesses {
		e.witnesses = append(e.witnesses, witnesstest.New(t, "witness.example/w"+string(rune('1'+i)), participant.DefaultLogOrigin, signer.VerifierKey()))
	}
	return e
}

// beacons returns a drand client of the chain over relays in the modes.
func (e *v2env) beacons(modes ...drandtest.Mode) *drand.Client {
	e.t.Helper()
	var urls []string
	for _, m := range modes {
		urls = append(urls, e.chain.Relay(e.t, m).URL)
	}
	c, err := drand.New(drand.Options{Chain: e.chain.Info, Relays: urls, Timeout: time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// service returns a replica: a Service on st (the env's store when nil)
// drawing v2 with the beacon source.
func (e *v2env) service(st *store.Store, beacons participant.BeaconSource, edit func(*participant.Options)) *participant.Service {
	e.t.Helper()
	if st == nil {
		st = e.store
	}
	var ws []participant.LogWitness
	var urls, keys []string
	for _, w := range e.witnesses {
		ws = append(ws, participant.LogWitness{URL: w.URL(), Key: w.VerifierKey()})
		urls, keys = append(urls, w.URL()), append(keys, w.VerifierKey())
	}
	o := participant.Options{
		DrawVersion:   draw.VersionV2,
		BeaconDelay:   testBeaconDelay,
		Beacons:       beacons,
		Log:           participant.LogOptions{Signer: e.signer, Witnesses: ws, Quorum: e.quorum},
		OnAttestation: e.events.add,
	}
	if len(ws) > 0 {
		parsed, err := witness.ParseWitnesses(urls, keys)
		if err != nil {
			e.t.Fatal(err)
		}
		o.Log.Cosigner = cosigner{&witness.Client{Witnesses: parsed, Quorum: e.quorum, Timeout: 5 * time.Second}}
	}
	if edit != nil {
		edit(&o)
	}
	if err := o.Validate(); err != nil {
		e.t.Fatal(err)
	}
	return participant.NewService(st, nil, nil, o)
}

// enter registers users in the giveaway, each having passed the captcha.
func (e *v2env) enter(svc *participant.Service, giveawayID int64, users ...int64) {
	e.t.Helper()
	ctx := context.Background()
	for _, u := range users {
		if err := e.store.CompleteCaptcha(ctx, u, time.Now()); err != nil {
			e.t.Fatal(err)
		}
		if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: giveawayID, UserID: u}); err != nil {
			e.t.Fatalf("register user %d: %v", u, err)
		}
	}
}

// verifyOptions is everything a verifier of the env's draws pins, with the
// giveaway's log entries.
func (e *v2env) verifyOptions(giveawayID int64, entrants []int64) draw.VerifyOptions {
	e.t.Helper()
	logKey, err := drawlog.NewLogVerifier(e.signer.VerifierKey())
	if err != nil {
		e.t.Fatal(err)
	}
	entries, err := e.store.GiveawayLog(context.Background(), giveawayID)
	if err != nil {
		e.t.Fatal(err)
	}
	o := draw.VerifyOptions{Chain: &e.chain.Info, LogKey: logKey, Quorum: e.quorum, Entrants: entrants, LogEntries: map[uint64][]byte{}}
	for _, w := range e.witnesses {
		o.Witnesses = append(o.Witnesses, w.Verifier())
	}
	for _, en := range entries {
		o.LogEntries[en.Index] = en.Data
	}
	return o
}

// checkHistory checks the giveaway's log entries against the log's rules.
func (e *v2env) checkHistory(giveawayID int64) []drawlog.Type {
	e.t.Helper()
	entries, err := e.store.GiveawayLog(context.Background(), giveawayID)
	if err != nil {
		e.t.Fatal(err)
	}
	var list []drawlog.IndexedEntry
	var types []drawlog.Type
	for _, en := range entries {
		p, err := drawlog.Parse(en.Data)
		if err != nil {
			e.t.Fatalf("log entry %d: %v", en.Index, err)
		}
		list = append(list, drawlog.IndexedEntry{Index: en.Index, Entry: p})
		types = append(types, p.Type())
	}
	if err := drawlog.CheckGiveawayHistory(list); err != nil {
		e.t.Fatalf("giveaway %d's log breaks a rule: %v", giveawayID, err)
	}
	return types
}

// code returns err's domain code, failing unless it is a domain error.
func code(t *testing.T, err error) participant.Code {
	t.Helper()
	var e *participant.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *participant.Error", err)
	}
	return e.Code
}

// recordJSON is a record's published JSON.
func recordJSON(t *testing.T, r draw.Record) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// skipped reports whether a verification report skipped the check.
func skipped(rep draw.Report, check string) bool {
	for _, s := range rep.Skipped {
		if s.Check == check {
			return true
		}
	}
	return false
}

func passed(rep draw.Report, check string) bool {
	for _, c := range rep.Checks {
		if c == check {
			return true
		}
	}
	return false
}

// lyingBeacons is a beacon source that hands out a well-formed signature
// by another key, with no verification of its own.
type lyingBeacons struct{ chain *drandtest.Chain }

func (l lyingBeacons) Chain(context.Context) (beacon.Chain, error) { return l.chain.Info, nil }

func (l lyingBeacons) Wait(ctx context.Context, round uint64) (beacon.Beacon, error) {
	at := l.chain.Info.RoundTime(round)
	select {
	case <-time.After(time.Until(at)):
	case <-ctx.Done():
		return beacon.Beacon{}, ctx.Err()
	}
	sig := l.chain.SignWithOtherKey(round)
	return beacon.Beacon{Round: round, Signature: sig, Randomness: beacon.Randomness(sig)}, nil
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
