// Package drandtest is a stand-in drand network for tests: a chain with its
// own BLS key pair that signs rounds on demand, and relays serving drand's
// HTTP API for it, honest or not.
package drandtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/bls"

	"github.com/telegive/participant-service/pkg/beacon"
)

// BeaconID is the beacon id of every test chain. Not being "default", it
// is part of the chain hash.
const BeaconID = "telegive-test"

// Chain is a test drand chain: its info and the keys that sign its rounds.
type Chain struct {
	// Info is the chain, valid under beacon.Chain.Validate.
	Info beacon.Chain
	// Now is the chain's clock, used by relays that publish rounds only
	// when their time has come; time.Now when nil.
	Now func() time.Time

	key   *bls.PrivateKey[bls.KeyG2SigG1]
	other *bls.PrivateKey[bls.KeyG2SigG1]
}

// NewChain makes a chain with a fresh key pair, the given period (whole
// seconds) and genesis (truncated to the second).
func NewChain(tb testing.TB, period time.Duration, genesis time.Time) *Chain {
	tb.Helper()
	key, other := newKey(tb), newKey(tb)
	pub, err := key.PublicKey().MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	group := make([]byte, beacon.HashSize)
	if _, err := rand.Read(group); err != nil {
		tb.Fatal(err)
	}
	info := beacon.Chain{
		PublicKey:   pub,
		GenesisTime: genesis.Unix(),
		Period:      period,
		GroupHash:   group,
		Scheme:      beacon.SchemeUnchainedG1,
		BeaconID:    BeaconID,
	}
	if info.Hash, err = info.ComputeHash(); err != nil {
		tb.Fatal(err)
	}
	if err := info.Validate(); err != nil {
		tb.Fatal(err)
	}
	return &Chain{Info: info, key: key, other: other}
}

func newKey(tb testing.TB) *bls.PrivateKey[bls.KeyG2SigG1] {
	tb.Helper()
	ikm := make([]byte, 32)
	if _, err := rand.Read(ikm); err != nil {
		tb.Fatal(err)
	}
	k, err := bls.KeyGen[bls.KeyG2SigG1](ikm, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// Sign returns round r's signature: the chain key's BLS signature of
// SHA-256(uint64_be(r)).
func (c *Chain) Sign(r uint64) []byte {
	m := beacon.Message(r)
	return bls.Sign(c.key, m[:])
}

// SignWithOtherKey returns a well-formed signature of round r's message by
// a key that is not the chain's.
func (c *Chain) SignWithOtherKey(r uint64) []byte {
	m := beacon.Message(r)
	return bls.Sign(c.other, m[:])
}

// Beacon returns round r's beacon.
func (c *Chain) Beacon(r uint64) beacon.Beacon {
	sig := c.Sign(r)
	return beacon.Beacon{Round: r, Signature: sig, Randomness: beacon.Randomness(sig)}
}

func (c *Chain) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

type kind int

const (
	honest kind = iota
	live
	lying
	wrongRound
	failing
	slow
	down
)

// Mode is how a relay behaves.
type Mode struct {
	kind  kind
	delay time.Duration
}

var (
	// Honest serves every round asked for, due or not.
	Honest = Mode{kind: honest}
	// Live answers 404 for a round until its time has come by the chain's
	// clock, as a drand relay does, then serves it.
	Live = Mode{kind: live}
	// Lying serves well-formed signatures by another key.
	Lying = Mode{kind: lying}
	// WrongRound serves, for round r, the valid signature of round r - 1
	// labelled as round r.
	WrongRound = Mode{kind: wrongRound}
	// Failing answers every request with 500.
	Failing = Mode{kind: failing}
	// Down refuses connections.
	Down = Mode{kind: down}
)

// Slow answers honestly after d, or not at all if the caller gives up
// first.
func Slow(d time.Duration) Mode { return Mode{kind: slow, delay: d} }

// Lagging is Live, but publishes each round d after its time.
func Lagging(d time.Duration) Mode { return Mode{kind: live, delay: d} }

// Relay is a running stand-in relay.
type Relay struct {
	// URL is the relay's base URL, as configured in a client.
	URL      string
	chain    *Chain
	mode     Mode
	requests atomic.Int64
	// unavailable makes the relay answer 503 to everything, until it is
	// made available again.
	unavailable atomic.Bool
}

// SetAvailable takes the relay down (503 to every request) or brings it
// back, as a relay that goes away and returns does.
func (r *Relay) SetAvailable(up bool) { r.unavailable.Store(!up) }

// Requests returns how many requests the relay has received.
func (r *Relay) Requests() int { return int(r.requests.Load()) }

// Relay starts a relay for the chain, serving GET /{hash}/info and GET
// /{hash}/public/{round} (and /public/latest) of drand's HTTP API; it is
// closed when the test ends. A Down relay's URL points at a closed port.
func (c *Chain) Relay(tb testing.TB, mode Mode) *Relay {
	tb.Helper()
	r := &Relay{chain: c, mode: mode}
	if mode.kind == down {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		r.URL = "http://" + l.Addr().String()
		l.Close()
		return r
	}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *Relay) serve(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	if r.unavailable.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	c := r.chain
	switch r.mode.kind {
	case failing:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case slow:
		select {
		case <-time.After(r.mode.delay):
		case <-req.Context().Done():
			return
		}
	}
	rest, ok := strings.CutPrefix(req.URL.Path, "/"+c.Info.HashHex()+"/")
	if !ok || req.Method != http.MethodGet {
		http.NotFound(w, req)
		return
	}
	if rest == "info" {
		writeJSON(w, c.Info)
		return
	}
	arg, ok := strings.CutPrefix(rest, "public/")
	if !ok {
		http.NotFound(w, req)
		return
	}
	var round uint64
	if arg == "latest" {
		round = c.current(c.now().Add(-r.mode.delay))
	} else {
		n, err := strconv.ParseUint(arg, 10, 64)
		if err != nil {
			http.Error(w, "bad round", http.StatusBadRequest)
			return
		}
		round = n
	}
	if round == 0 || r.mode.kind == live && c.now().Before(c.Info.RoundTime(round).Add(r.mode.delay)) {
		http.NotFound(w, req)
		return
	}
	var sig []byte
	switch r.mode.kind {
	case lying:
		sig = c.SignWithOtherKey(round)
	case wrongRound:
		sig = c.Sign(round - 1)
	default:
		sig = c.Sign(round)
	}
	writeJSON(w, map[string]any{
		"round":      round,
		"randomness": hex.EncodeToString(sumOf(sig)),
		"signature":  hex.EncodeToString(sig),
	})
}

// current returns the last round whose time is at or before t, or 0.
func (c *Chain) current(t time.Time) uint64 {
	d := t.Unix() - c.Info.GenesisTime
	if d < 0 {
		return 0
	}
	return 1 + uint64(d/int64(c.Info.Period/time.Second))
}

func sumOf(sig []byte) []byte {
	r := beacon.Randomness(sig)
	return r[:]
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
