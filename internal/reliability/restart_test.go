package reliability_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/client"
)

// balancer is a round-robin proxy over the backends that are ready, as a
// Kubernetes Service over its endpoints: it polls each backend's
// /health/ready every 100 ms, each on its own, with the kubelet's default
// one-second timeout.
type balancer struct {
	backends []*url.URL
	ready    []atomic.Bool
	next     atomic.Uint64
	proxy    *httputil.ReverseProxy
	stop     chan struct{}
}

func newBalancer(urls ...string) *balancer {
	b := &balancer{ready: make([]atomic.Bool, len(urls)), stop: make(chan struct{})}
	for i, u := range urls {
		pu, _ := url.Parse(u)
		b.backends = append(b.backends, pu)
		b.ready[i].Store(true)
	}
	b.proxy = &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(b.pick())
	}}
	for i := range b.backends {
		go b.watch(i)
	}
	return b
}

func (b *balancer) pick() *url.URL {
	// One ticket per request: concurrent picks taking turns on a shared
	// counter could otherwise skip the only ready backend.
	start := b.next.Add(1)
	for k := range uint64(len(b.backends)) {
		i := (start + k) % uint64(len(b.backends))
		if b.ready[i].Load() {
			return b.backends[i]
		}
	}
	return b.backends[0]
}

// watch probes backend i until the balancer stops. A slow machine (this
// suite runs beside others, under the race detector) must not delay the
// news that a backend is draining, so each backend has its own prober.
func (b *balancer) watch(i int) {
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-b.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := hc.Get(b.backends[i].String() + "/health/ready")
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			continue // a slow probe says nothing; keep the last state
		}
		b.ready[i].Store(err == nil && resp.StatusCode == http.StatusOK)
		if resp != nil {
			resp.Body.Close()
		}
	}
}

// TestRollingRestart: one of two instances gets SIGTERM under load behind
// the balancer; with readiness dropping first and the drain delay (2 s)
// well beyond the balancer's poll and probe timeout, no request fails.
func TestRollingRestart(t *testing.T) {
	dsn := testenv.PostgresSchema(t)
	a := start(t, "DATABASE_URL="+dsn, "SHUTDOWN_DELAY=2", "SHUTDOWN_TIMEOUT=10")
	bSvc := start(t, "DATABASE_URL="+dsn, "MIGRATE_ON_START=false")
	lb := newBalancer(a.URL, bSvc.URL)
	defer close(lb.stop)
	front := httptest.NewServer(lb.proxy)
	defer front.Close()

	bt := newBot(t, front.URL)
	ctx := context.Background()
	known := bt.users(t, 10)
	c, _ := client.New(front.URL, client.WithRetries(0, 0))
	var (
		sent, failed atomic.Int64
		wg           sync.WaitGroup
		nextGiveaway atomic.Int64
	)
	stop := time.Now().Add(5 * time.Second)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				var err error
				user := known[(w+i)%len(known)]
				if i%2 == 0 {
					_, err = c.WinnerStatus(ctx, user, 1)
				} else {
					_, err = c.Register(ctx, client.RegisterRequest{GiveawayID: 1000 + nextGiveaway.Add(1), UserID: user})
				}
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					t.Logf("failed during the rolling restart: %v", err)
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	terminated := time.Now()
	a.Stop() // what SIGTERM does: the context of Serve ends
	stopped := time.Since(terminated)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during the rolling restart", failed.Load(), sent.Load())
	}
	report(t, figures{"requests_sent": sent.Load(), "failed": failed.Load(), "instance_stop_ms": ms(stopped)})
}
