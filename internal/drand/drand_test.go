package drand_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/drand"
	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/pkg/beacon"
)

// recorder keeps the hooks' reports.
type recorder struct {
	mu       sync.Mutex
	attempts []string // "relay outcome"
	changes  []string // "relay from->to"
}

func (r *recorder) onAttempt(relay, outcome string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, relay+" "+outcome)
}

func (r *recorder) onStateChange(relay, from, to string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, relay+" "+from+"->"+to)
}

func (r *recorder) Attempts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.attempts)
}

func (r *recorder) Changes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.changes)
}

// newClient returns a client of chain over relays, reporting to a
// recorder; edit adjusts the options first.
func newClient(tb testing.TB, chain *drandtest.Chain, relays []string, edit func(*drand.Options)) (*drand.Client, *recorder) {
	tb.Helper()
	rec := &recorder{}
	o := drand.Options{
		Chain:         chain.Info,
		Relays:        relays,
		Timeout:       time.Second,
		OnAttempt:     rec.onAttempt,
		OnStateChange: rec.onStateChange,
	}
	if edit != nil {
		edit(&o)
	}
	c, err := drand.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return c, rec
}

// pastChain is a 3 s chain that started an hour ago: its early rounds
// are all due.
func pastChain(tb testing.TB) *drandtest.Chain {
	return drandtest.NewChain(tb, 3*time.Second, time.Now().Add(-time.Hour))
}

func timeout(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

func checkBeacon(tb testing.TB, chain *drandtest.Chain, got beacon.Beacon, round uint64) {
	tb.Helper()
	want := chain.Beacon(round)
	if got.Round != round || !bytes.Equal(got.Signature, want.Signature) || got.Randomness != want.Randomness {
		tb.Fatalf("beacon %+v, expected %+v", got, want)
	}
}

func TestBeaconFromHonestRelay(t *testing.T) {
	chain := pastChain(t)
	honest := chain.Relay(t, drandtest.Honest)
	c, rec := newClient(t, chain, []string{honest.URL}, nil)
	b, err := c.Beacon(timeout(t, 5*time.Second), 42)
	if err != nil {
		t.Fatal(err)
	}
	checkBeacon(t, chain, b, 42)
	if got, want := rec.Attempts(), []string{honest.URL + " ok"}; !slices.Equal(got, want) {
		t.Fatalf("attempts %q, expected %q", got, want)
	}
	if got := c.Breakers(); len(got) != 1 || got[honest.URL] != "closed" {
		t.Fatalf("Breakers() = %v", got)
	}
}

func TestBadSignatureIsNeverUsed(t *testing.T) {
	for _, mode := range []struct {
		name string
		mode drandtest.Mode
	}{
		{"another key", drandtest.Lying},
		{"another round", drandtest.WrongRound},
	} {
		t.Run(mode.name, func(t *testing.T) {
			chain := pastChain(t)
			liar := chain.Relay(t, mode.mode)
			honest := chain.Relay(t, drandtest.Honest)
			c, rec := newClient(t, chain, []string{liar.URL, honest.URL}, nil)
			b, err := c.Beacon(timeout(t, 5*time.Second), 7)
			if err != nil {
				t.Fatal(err)
			}
			checkBeacon(t, chain, b, 7)
			want := []string{liar.URL + " invalid", honest.URL + " ok"}
			if got := rec.Attempts(); !slices.Equal(got, want) {
				t.Fatalf("attempts %q, expected %q", got, want)
			}
			if liar.Requests() != 1 || honest.Requests() != 1 {
				t.Fatalf("requests: liar %d, honest %d; expected 1 each", liar.Requests(), honest.Requests())
			}
		})
	}
}

func TestOnlyLiarsIsUnavailable(t *testing.T) {
	chain := pastChain(t)
	liar := chain.Relay(t, drandtest.Lying)
	c, rec := newClient(t, chain, []string{liar.URL}, func(o *drand.Options) { o.BreakerFailures = 1000 })
	_, err := c.Beacon(timeout(t, 700*time.Millisecond), 7)
	var ue *drand.UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, drand.ErrUnavailable) || ue.Round != 7 {
		t.Fatalf("Beacon = %v, expected an UnavailableError for round 7", err)
	}
	if !strings.Contains(ue.Failures[liar.URL], "does not verify") {
		t.Fatalf("liar's failure %q does not say the signature failed", ue.Failures[liar.URL])
	}
	checkOnly(t, rec.Attempts(), liar.URL+" invalid")
	if liar.Requests() < 2 {
		t.Fatalf("the liar was asked %d times; expected retries until the deadline", liar.Requests())
	}
}

// checkOnly checks that the first attempt is want and every other one is
// want or was cut short by a call's deadline.
func checkOnly(tb testing.TB, attempts []string, want string) {
	tb.Helper()
	if len(attempts) == 0 || attempts[0] != want {
		tb.Fatalf("attempts %q, expected %q first", attempts, want)
	}
	// An attempt cut short by a call's own deadline is "canceled"; several
	// calls may each end so on a slow machine.
	for _, a := range attempts {
		if a != want && !strings.HasSuffix(a, " canceled") {
			tb.Fatalf("attempts %q, expected only %q", attempts, want)
		}
	}
}

func TestRandomnessIsComputedLocally(t *testing.T) {
	chain := pastChain(t)
	// A relay with a valid signature and a made-up randomness field.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		sig := chain.Beacon(5).Signature
		_, _ = w.Write([]byte(`{"round":5,"randomness":"` + strings.Repeat("00", 32) + `","signature":"` + hexOf(sig) + `"}`))
	}))
	t.Cleanup(srv.Close)
	c, _ := newClient(t, chain, []string{srv.URL}, nil)
	b, err := c.Beacon(timeout(t, 5*time.Second), 5)
	if err != nil {
		t.Fatal(err)
	}
	if b.Randomness != beacon.Randomness(b.Signature) || b.Randomness == [32]byte{} {
		t.Fatalf("randomness %x, expected SHA-256 of the signature", b.Randomness)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestSlowRelayFallsThrough(t *testing.T) {
	chain := pastChain(t)
	slow := chain.Relay(t, drandtest.Slow(10*time.Second))
	honest := chain.Relay(t, drandtest.Honest)
	c, rec := newClient(t, chain, []string{slow.URL, honest.URL}, func(o *drand.Options) { o.Timeout = 200 * time.Millisecond })
	start := time.Now()
	b, err := c.Beacon(timeout(t, 5*time.Second), 3)
	if err != nil {
		t.Fatal(err)
	}
	checkBeacon(t, chain, b, 3)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v; the slow relay should have been given up after 200ms", d)
	}
	want := []string{slow.URL + " timeout", honest.URL + " ok"}
	if got := rec.Attempts(); !slices.Equal(got, want) {
		t.Fatalf("attempts %q, expected %q", got, want)
	}
}

func TestAllRelaysDownIsUnavailableByTheDeadline(t *testing.T) {
	chain := pastChain(t)
	a, b := chain.Relay(t, drandtest.Down), chain.Relay(t, drandtest.Down)
	c, rec := newClient(t, chain, []string{a.URL, b.URL}, nil)
	start := time.Now()
	_, err := c.Beacon(timeout(t, time.Second), 9)
	elapsed := time.Since(start)
	var ue *drand.UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, drand.ErrUnavailable) {
		t.Fatalf("Beacon = %v, expected an UnavailableError", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Beacon = %v, expected it to wrap the deadline", err)
	}
	if ue.Round != 9 || len(ue.Failures) != 2 || ue.Failures[a.URL] == "" || ue.Failures[b.URL] == "" {
		t.Fatalf("UnavailableError %+v, expected round 9 and a failure per relay", ue)
	}
	if elapsed < 900*time.Millisecond || elapsed > 1500*time.Millisecond {
		t.Fatalf("gave up after %v, expected at the 1 s deadline", elapsed)
	}
	for _, at := range rec.Attempts() {
		if !strings.HasSuffix(at, " error") && !strings.HasSuffix(at, " rejected") && !strings.HasSuffix(at, " canceled") {
			t.Fatalf("attempt %q, expected errors only", at)
		}
	}
}

func TestRoundNotDueIsNotAskedFor(t *testing.T) {
	chain := pastChain(t)
	honest := chain.Relay(t, drandtest.Honest)
	now := time.Unix(chain.Info.GenesisTime+30, 0) // round 11 is due, round 12 is not
	c, _ := newClient(t, chain, []string{honest.URL}, func(o *drand.Options) {
		o.Now = func() time.Time { return now }
	})
	_, err := c.Beacon(timeout(t, 5*time.Second), 12)
	var ny *drand.NotYetError
	if !errors.As(err, &ny) || !errors.Is(err, drand.ErrNotYet) {
		t.Fatalf("Beacon = %v, expected a NotYetError", err)
	}
	if want := chain.Info.RoundTime(12); ny.Round != 12 || !ny.Time.Equal(want) {
		t.Fatalf("NotYetError %+v, expected round 12 at %v", ny, want)
	}
	if honest.Requests() != 0 {
		t.Fatalf("the relay was asked %d times for a round not due", honest.Requests())
	}
	b, err := c.Beacon(timeout(t, 5*time.Second), 11)
	if err != nil {
		t.Fatal(err)
	}
	checkBeacon(t, chain, b, 11)
}

// fakeClock advances only when slept on.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	return nil
}

func TestWaitSleepsUntilTheRoundsTime(t *testing.T) {
	chain := pastChain(t)
	honest := chain.Relay(t, drandtest.Honest)
	clock := &fakeClock{now: time.Unix(chain.Info.GenesisTime+30, 500_000_000)}
	c, _ := newClient(t, chain, []string{honest.URL}, func(o *drand.Options) {
		o.Now, o.Sleep = clock.Now, clock.Sleep
	})
	b, err := c.Wait(timeout(t, 5*time.Second), 14) // round 14 is at genesis + 39 s
	if err != nil {
		t.Fatal(err)
	}
	checkBeacon(t, chain, b, 14)
	if want := []time.Duration{8500 * time.Millisecond}; !slices.Equal(clock.sleeps, want) {
		t.Fatalf("slept %v, expected %v", clock.sleeps, want)
	}
	// A round already due is fetched without sleeping.
	clock.sleeps = nil
	if _, err := c.Wait(timeout(t, 5*time.Second), 3); err != nil {
		t.Fatal(err)
	}
	if len(clock.sleeps) != 0 {
		t.Fatalf("slept %v for a round already due", clock.sleeps)
	}
}

func TestWaitGivesUpWithTheContext(t *testing.T) {
	chain := drandtest.NewChain(t, time.Second, time.Now())
	honest := chain.Relay(t, drandtest.Live)
	c, _ := newClient(t, chain, []string{honest.URL}, nil)
	round := chain.Info.FirstRoundAtOrAfter(time.Now().Add(time.Hour))
	start := time.Now()
	_, err := c.Wait(timeout(t, 200*time.Millisecond), round)
	var ny *drand.NotYetError
	if !errors.As(err, &ny) || !errors.Is(err, context.DeadlineExceeded) || ny.Round != round {
		t.Fatalf("Wait = %v, expected a NotYetError for round %d wrapping the deadline", err, round)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Wait returned after %v, expected at the 200ms deadline", d)
	}
	if honest.Requests() != 0 {
		t.Fatalf("the relay was asked %d times", honest.Requests())
	}
}

// TestWaitForALaggingRelay waits on a 1 s chain for a round two seconds
// ahead, from a relay that publishes each round 800 ms late.
func TestWaitForALaggingRelay(t *testing.T) {
	chain := drandtest.NewChain(t, time.Second, time.Now().Add(-5*time.Second))
	relay := chain.Relay(t, drandtest.Lagging(800*time.Millisecond))
	c, rec := newClient(t, chain, []string{relay.URL}, nil)
	round := chain.Info.FirstRoundAtOrAfter(time.Now().Add(2 * time.Second))
	b, err := c.Wait(timeout(t, 10*time.Second), round)
	if err != nil {
		t.Fatal(err)
	}
	checkBeacon(t, chain, b, round)
	if now, at := time.Now(), chain.Info.RoundTime(round); now.Before(at.Add(800 * time.Millisecond)) {
		t.Fatalf("got round %d at %v, before the relay published it at %v", round, now, at.Add(800*time.Millisecond))
	}
	got := rec.Attempts()
	if len(got) < 2 || got[0] != relay.URL+" not_yet" || got[len(got)-1] != relay.URL+" ok" {
		t.Fatalf("attempts %q, expected not_yet first and ok last", got)
	}
	if s := c.Breakers()[relay.URL]; s != "closed" {
		t.Fatalf("breaker %s after a lagging round, expected closed", s)
	}
}

func TestNotYetAnswersDoNotTripTheBreaker(t *testing.T) {
	chain := pastChain(t)
	relay := chain.Relay(t, drandtest.Lagging(time.Hour))
	c, rec := newClient(t, chain, []string{relay.URL}, func(o *drand.Options) { o.BreakerFailures = 2 })
	_, err := c.Beacon(timeout(t, time.Second), 5)
	if !errors.Is(err, drand.ErrUnavailable) {
		t.Fatalf("Beacon = %v, expected ErrUnavailable", err)
	}
	if n := len(rec.Attempts()); n < 3 {
		t.Fatalf("%d attempts, expected retries", n)
	}
	if s := c.Breakers()[relay.URL]; s != "closed" {
		t.Fatalf("breaker %s, expected closed: 404s of a lagging relay are not failures", s)
	}
}

func TestBreakerOpensAndRejectsWithoutCalling(t *testing.T) {
	chain := pastChain(t)
	failing := chain.Relay(t, drandtest.Failing)
	c, rec := newClient(t, chain, []string{failing.URL}, func(o *drand.Options) {
		o.BreakerFailures = 3
		o.BreakerOpen = time.Hour
	})
	if _, err := c.Beacon(timeout(t, 1500*time.Millisecond), 5); !errors.Is(err, drand.ErrUnavailable) {
		t.Fatalf("Beacon = %v, expected ErrUnavailable", err)
	}
	if n := failing.Requests(); n != 3 {
		t.Fatalf("the relay got %d requests, expected 3 before the breaker opened", n)
	}
	got := rec.Attempts()
	want := []string{failing.URL + " error", failing.URL + " error", failing.URL + " error", failing.URL + " rejected"}
	if len(got) < 4 || !slices.Equal(got[:4], want) {
		t.Fatalf("attempts %q, expected to start with %q", got, want)
	}
	if s := c.Breakers()[failing.URL]; s != "open" {
		t.Fatalf("breaker %s, expected open", s)
	}
	if ch := rec.Changes(); !slices.Equal(ch, []string{failing.URL + " closed->open"}) {
		t.Fatalf("state changes %q", ch)
	}
	if _, err := c.Beacon(timeout(t, 300*time.Millisecond), 6); !errors.Is(err, drand.ErrUnavailable) {
		t.Fatalf("Beacon = %v, expected ErrUnavailable", err)
	}
	if n := failing.Requests(); n != 3 {
		t.Fatalf("the relay got %d requests with its breaker open, expected still 3", n)
	}
}

func TestOpenBreakerSendsCallsToTheOtherRelays(t *testing.T) {
	chain := pastChain(t)
	failing := chain.Relay(t, drandtest.Failing)
	honest := chain.Relay(t, drandtest.Honest)
	c, _ := newClient(t, chain, []string{failing.URL, honest.URL}, func(o *drand.Options) {
		o.BreakerFailures = 2
		o.BreakerOpen = time.Hour
	})
	for r := uint64(1); r <= 8; r++ {
		b, err := c.Beacon(timeout(t, 5*time.Second), r)
		if err != nil {
			t.Fatal(err)
		}
		checkBeacon(t, chain, b, r)
	}
	if n := failing.Requests(); n != 2 {
		t.Fatalf("the failing relay got %d requests, expected 2", n)
	}
	if got := c.Breakers(); got[failing.URL] != "open" || got[honest.URL] != "closed" {
		t.Fatalf("Breakers() = %v", got)
	}
}

func TestCallsRotateOverRelays(t *testing.T) {
	chain := pastChain(t)
	a, b := chain.Relay(t, drandtest.Honest), chain.Relay(t, drandtest.Honest)
	c, _ := newClient(t, chain, []string{a.URL, b.URL}, nil)
	for r := uint64(1); r <= 6; r++ {
		if _, err := c.Beacon(timeout(t, 5*time.Second), r); err != nil {
			t.Fatal(err)
		}
	}
	if a.Requests() != 3 || b.Requests() != 3 {
		t.Fatalf("requests %d and %d, expected 3 each", a.Requests(), b.Requests())
	}
}

func TestRedirectIsAFailureAndNotFollowed(t *testing.T) {
	chain := pastChain(t)
	honest := chain.Relay(t, drandtest.Honest)
	var reached atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		http.Error(w, "should not be reached", http.StatusTeapot)
	}))
	t.Cleanup(target.Close)
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+r.URL.Path, status)
		}))
		t.Cleanup(redirector.Close)
		// A client that would follow redirects by itself.
		follows := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
		c, rec := newClient(t, chain, []string{redirector.URL, honest.URL}, func(o *drand.Options) { o.HTTPClient = follows })
		b, err := c.Beacon(timeout(t, 5*time.Second), 4)
		if err != nil {
			t.Fatal(err)
		}
		checkBeacon(t, chain, b, 4)
		want := []string{redirector.URL + " error", honest.URL + " ok"}
		if got := rec.Attempts(); !slices.Equal(got, want) {
			t.Fatalf("status %d: attempts %q, expected %q", status, got, want)
		}
		if follows.CheckRedirect(nil, nil) != nil {
			t.Fatal("the caller's client was changed")
		}
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

func TestResolveChainFromRelays(t *testing.T) {
	chain := pastChain(t)
	honest := chain.Relay(t, drandtest.Honest)
	c, rec := newClient(t, chain, []string{honest.URL}, func(o *drand.Options) {
		o.Chain = beacon.Chain{}
		o.ChainHash = chain.Info.Hash
	})
	got, err := c.Chain(timeout(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Hash, chain.Info.Hash) || !bytes.Equal(got.PublicKey, chain.Info.PublicKey) ||
		got.GenesisTime != chain.Info.GenesisTime || got.Period != chain.Info.Period {
		t.Fatalf("resolved %+v, expected %+v", got, chain.Info)
	}
	b, err := c.Beacon(timeout(t, 5*time.Second), 8)
	if err != nil {
		t.Fatal(err)
	}
	checkBeacon(t, chain, b, 8)
	if n := honest.Requests(); n != 2 {
		t.Fatalf("%d requests, expected one for the info and one for the beacon", n)
	}
	if got := rec.Attempts(); len(got) != 2 {
		t.Fatalf("attempts %q", got)
	}
}

func TestResolveRefusesAnotherChain(t *testing.T) {
	pinned := pastChain(t)
	other := pastChain(t)
	tampered := pinned.Info
	tampered.Period = 30 * time.Second // the hash field still says the pinned chain
	serve := func(info beacon.Chain) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := info.MarshalJSON()
			_, _ = w.Write(b)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	for _, tc := range []struct {
		name string
		info beacon.Chain
		want string
	}{
		{"a valid chain with another hash", other.Info, "not the pinned"},
		{"the pinned hash over other info", tampered, "chain hash does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(tc.info)
			c, rec := newClient(t, pinned, []string{srv.URL}, func(o *drand.Options) {
				o.Chain = beacon.Chain{}
				o.ChainHash = pinned.Info.Hash
				o.BreakerFailures = 1000
			})
			_, err := c.Chain(timeout(t, 500*time.Millisecond))
			var ue *drand.UnavailableError
			if !errors.As(err, &ue) || ue.Round != 0 || !strings.Contains(ue.Failures[srv.URL], tc.want) {
				t.Fatalf("Chain = %v, expected an UnavailableError saying %q", err, tc.want)
			}
			if _, err := c.Beacon(timeout(t, 300*time.Millisecond), 3); !errors.Is(err, drand.ErrUnavailable) {
				t.Fatalf("Beacon = %v, expected ErrUnavailable without a chain", err)
			}
			checkOnly(t, rec.Attempts(), srv.URL+" invalid")
			// With an honest relay beside it, the pinned chain resolves.
			honest := pinned.Relay(t, drandtest.Honest)
			c, _ = newClient(t, pinned, []string{srv.URL, honest.URL}, func(o *drand.Options) {
				o.Chain = beacon.Chain{}
				o.ChainHash = pinned.Info.Hash
			})
			got, err := c.Chain(timeout(t, 5*time.Second))
			if err != nil || !bytes.Equal(got.PublicKey, pinned.Info.PublicKey) || got.Period != pinned.Info.Period {
				t.Fatalf("Chain = %+v, %v; expected the pinned chain", got, err)
			}
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	chain := pastChain(t)
	tampered := chain.Info
	tampered.GenesisTime++
	for _, tc := range []struct {
		name string
		o    drand.Options
		want string
	}{
		{"no relays", drand.Options{Chain: chain.Info}, "no relays"},
		{"no chain", drand.Options{Relays: []string{"http://relay"}}, "no chain"},
		{"both", drand.Options{Chain: chain.Info, ChainHash: chain.Info.Hash, Relays: []string{"http://relay"}}, "not both"},
		{"short hash", drand.Options{ChainHash: chain.Info.Hash[:8], Relays: []string{"http://relay"}}, "8 bytes"},
		{"invalid chain", drand.Options{Chain: tampered, Relays: []string{"http://relay"}}, "chain hash does not match"},
		{"not http", drand.Options{Chain: chain.Info, Relays: []string{"ftp://relay"}}, "not an http(s) base URL"},
		{"no host", drand.Options{Chain: chain.Info, Relays: []string{"relay.example"}}, "not an http(s) base URL"},
		{"listed twice", drand.Options{Chain: chain.Info, Relays: []string{"http://relay", "http://relay/"}}, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := drand.New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, expected an error saying %q", err, tc.want)
			}
		})
	}
}

func TestQuicknetPinnedClient(t *testing.T) {
	// The real chain, pinned, with a relay that cannot answer: the client
	// is built and says no relay gave a beacon.
	down := drandtest.NewChain(t, 3*time.Second, time.Now()).Relay(t, drandtest.Down)
	c, err := drand.New(drand.Options{Chain: beacon.Quicknet(), Relays: []string{down.URL}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Chain(context.Background())
	if err != nil || got.HashHex() != beacon.Quicknet().HashHex() {
		t.Fatalf("Chain = %v, %v", got.HashHex(), err)
	}
	if _, err := c.Beacon(timeout(t, 300*time.Millisecond), 1000); !errors.Is(err, drand.ErrUnavailable) {
		t.Fatalf("Beacon = %v, expected ErrUnavailable", err)
	}
}
