package httpapi_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
)

// stuckGiveaways holds the first lookups until released, so that those
// requests stay in flight as long as the test needs; later ones pass.
type stuckGiveaways struct {
	hold    int32
	held    atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (g *stuckGiveaways) Giveaway(ctx context.Context, id int64) (participant.Giveaway, error) {
	if g.held.Add(1) > g.hold {
		return participant.Giveaway{ID: id, Status: "active", WinnerCount: 1}, nil
	}
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return participant.Giveaway{}, ctx.Err()
	}
	return participant.Giveaway{ID: id, Status: "active", WinnerCount: 1}, nil
}

func (g *stuckGiveaways) Invalidate(context.Context, int64) {}

// TestOverloadIsShed: with MaxInFlight requests in flight the next API
// request is answered 503 with Retry-After at once, probes still answer,
// and service resumes as soon as a slot frees.
func TestOverloadIsShed(t *testing.T) {
	g := &stuckGiveaways{hold: 2, entered: make(chan struct{}, 2), release: make(chan struct{})}
	h := newHarness(t, "sqlite", withGiveaways(g), withAPI(func(o *httpapi.Options) { o.MaxInFlight = 2 }))
	release := sync.OnceFunc(func() { close(g.release) })
	t.Cleanup(release) // before the server closes, should the test fail early

	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": 100 + i,
				"username": "busy_user", "first_name": "Busy"}).expect(t, http.StatusOK, "")
		})
	}
	for range 2 {
		select {
		case <-g.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the first requests never reached the giveaway lookup")
		}
	}

	start := time.Now()
	r := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": 200,
		"username": "late_user", "first_name": "Late"}).expect(t, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	if r.header.Get("Retry-After") != "1" || r.num("retry_after") != 1 {
		t.Fatalf("shed answer without Retry-After: %v %s", r.header, r.raw)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shed answer took %v; it must not queue", d)
	}
	if resp, err := http.Get(h.url + "/api/participants/captcha-status/200"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close {
			t.Errorf("shed answer %d keeps the connection alive (Close %v); idle, it would hold its buffers", resp.StatusCode, resp.Close)
		}
	}
	h.do("GET", "/api/participants/captcha-status/200", nil).expect(t, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	for _, probe := range []string{"/health/live", "/health/ready"} {
		h.do("GET", probe, nil).expect(t, http.StatusOK, "")
	}

	release()
	wg.Wait()
	h.do("GET", "/api/participants/captcha-status/200", nil).expect(t, http.StatusOK, "")
}

// holdOneRegistration sends a registration that g holds in its giveaway
// lookup, taking the only MaxInFlight slot, and returns once it is held;
// release lets it finish, and done waits for its 200.
func holdOneRegistration(t *testing.T, h *harness, g *stuckGiveaways) (release, done func()) {
	t.Helper()
	release = sync.OnceFunc(func() { close(g.release) })
	t.Cleanup(release) // before the server closes, should the test fail early
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": 100,
			"username": "first_user", "first_name": "First"}).expect(t, http.StatusOK, "")
	}()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request never reached the giveaway lookup")
	}
	return release, func() { <-finished }
}

// TestShedKeepsItsConnectionUnderAConnectionBound: when the listener
// bounds the connections, a shed request's connection stays open for the
// caller's retry.
func TestShedKeepsItsConnectionUnderAConnectionBound(t *testing.T) {
	g := &stuckGiveaways{hold: 1, entered: make(chan struct{}, 1), release: make(chan struct{})}
	h := newHarness(t, "sqlite", withGiveaways(g), withAPI(func(o *httpapi.Options) {
		o.MaxInFlight = 1
		o.ConnectionsBounded = true
	}))
	release, done := holdOneRegistration(t, h, g)
	resp, err := http.Get(h.url + "/api/participants/captcha-status/200")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Close {
		t.Errorf("shed answer %d closes its connection (Close %v) though the connections are bounded", resp.StatusCode, resp.Close)
	}
	release()
	done()
}

// TestOverloadWaitsBrieflyForASlot: a request that finds every slot taken
// waits up to MaxInFlightWait for one and is served when one frees in
// time; when none does, it is refused once the wait is over, not before.
func TestOverloadWaitsBrieflyForASlot(t *testing.T) {
	const wait = 300 * time.Millisecond
	g := &stuckGiveaways{hold: 1, entered: make(chan struct{}, 1), release: make(chan struct{})}
	h := newHarness(t, "sqlite", withGiveaways(g), withAPI(func(o *httpapi.Options) {
		o.MaxInFlight = 1
		o.MaxInFlightWait = wait
	}))
	release, done := holdOneRegistration(t, h, g)

	// The slot stays taken past the wait: refused, after waiting.
	start := time.Now()
	h.do("GET", "/api/participants/captcha-status/200", nil).expect(t, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
	if d := time.Since(start); d < wait {
		t.Errorf("refused after %v, before the %v wait was over", d, wait)
	}

	// The slot frees while the request waits: served.
	served := make(chan int, 1)
	go func() {
		served <- h.do("GET", "/api/participants/captcha-status/200", nil).status
	}()
	time.Sleep(wait / 3)
	release()
	if got := <-served; got != http.StatusOK {
		t.Errorf("a request waiting while the slot freed was answered %d, want 200", got)
	}
	done()
}
