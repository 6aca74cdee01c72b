package reliability_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/client"
)

// start runs the service with the rate limits lifted: these tests load it
// from one address with clients that retry fast, which a per-address or
// per-user budget would rightly refuse.
func start(t *testing.T, env ...string) *testenv.Service {
	t.Helper()
	return testenv.StartService(t, append([]string{"API_RATE_LIMIT=1000000 per second", "USER_RATE_LIMIT=1000000 per second"}, env...)...)
}

// fault breaks the way to a dependency and mends it.
type fault struct{ begin, end func(*testenv.Proxy) }

var (
	// outage: the dependency goes away (connections cut, new ones refused)
	// and comes back on the same address, as a restarting server does.
	outage = fault{(*testenv.Proxy).Stop, (*testenv.Proxy).Start}
	// partition: the network goes silent, nothing refused or closed.
	partition = fault{(*testenv.Proxy).Pause, (*testenv.Proxy).Resume}
)

// figures are a scenario's numbers, logged and, when RELIABILITY_REPORT
// names a file, appended to it as one JSON line for docs/reliability.md.
type figures map[string]any

func report(t *testing.T, f figures) {
	t.Helper()
	f["scenario"] = t.Name()
	b, _ := json.Marshal(f)
	t.Logf("figures: %s", b)
	if path := os.Getenv("RELIABILITY_REPORT"); path != "" {
		fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		fmt.Fprintln(fh, string(b))
	}
}

// bot plays the bot service: it retries whenever an answer is not a
// success, as the real one does, until the deadline.
type bot struct {
	t        *testing.T
	c        *client.Client
	deadline time.Duration
	mu       sync.Mutex
	requests int
	failures map[string]int
	slowest  time.Duration
}

func newBot(t *testing.T, base string) *bot {
	t.Helper()
	c, err := client.New(base, client.WithRetries(0, 0), client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return &bot{t: t, c: c, deadline: 20 * time.Second, failures: map[string]int{}}
}

func (b *bot) count(err error, took time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests++
	b.slowest = max(b.slowest, took)
	// A duplicate is the service confirming an earlier attempt whose answer
	// was lost: an acknowledgement, not a failure.
	if err != nil && !client.IsCode(err, client.CodeDuplicate) {
		var e *client.Error
		code := "network"
		if errors.As(err, &e) {
			code = e.Code
		}
		b.failures[code]++
	}
}

// join registers a new user through the captcha and returns the
// participant id the service acknowledged, retrying failures until the
// deadline; 0 means the service never acknowledged it.
func (b *bot) join(ctx context.Context, giveawayID, userID int64) int64 {
	stop := time.Now().Add(b.deadline)
	for time.Now().Before(stop) && ctx.Err() == nil {
		sent := time.Now()
		res, err := b.c.Register(ctx, client.RegisterRequest{GiveawayID: giveawayID, UserID: userID})
		b.count(err, time.Since(sent))
		var e *client.Error
		switch {
		case errors.As(err, &e) && e.Code == client.CodeDuplicate:
			return e.ParticipantID
		case err != nil:
			time.Sleep(100 * time.Millisecond)
			continue
		case !res.RequiresCaptcha:
			return res.ParticipantID
		}
		sent = time.Now()
		v, err := b.c.ValidateCaptcha(ctx, client.ValidateRequest{GiveawayID: giveawayID, UserID: userID, Answer: testenv.SolveCaptcha(b.t, res.Challenge.Question)})
		b.count(err, time.Since(sent))
		if err == nil && v.CaptchaCompleted {
			return v.ParticipantID
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0
}

// users registers n new users through the captcha into giveaway 1, before
// any fault, and returns their ids.
func (b *bot) users(t *testing.T, n int64) []int64 {
	t.Helper()
	base := uniqueBase()
	ids := make([]int64, 0, n)
	for i := range n {
		if b.join(context.Background(), 1, base+i) == 0 {
			t.Fatal("set-up registration failed")
		}
		ids = append(ids, base+i)
	}
	return ids
}

// readiness records how a service's readiness changes, polled every 25 ms.
type readiness struct {
	mu          sync.Mutex
	notReadyAt  time.Time
	readyAgain  time.Time
	notReadyFor time.Duration
	stop        chan struct{}
	done        chan struct{}
}

func watchReadiness(base string) *readiness {
	r := &readiness{stop: make(chan struct{}), done: make(chan struct{})}
	hc := &http.Client{Timeout: time.Second}
	go func() {
		defer close(r.done)
		var downSince time.Time
		for {
			select {
			case <-r.stop:
				return
			case <-time.After(25 * time.Millisecond):
			}
			resp, err := hc.Get(base + "/health/ready")
			ready := err == nil && resp.StatusCode == http.StatusOK
			if resp != nil {
				resp.Body.Close()
			}
			r.mu.Lock()
			switch {
			case !ready && downSince.IsZero():
				downSince = time.Now()
				if r.notReadyAt.IsZero() {
					r.notReadyAt = downSince
				}
			case ready && !downSince.IsZero():
				r.notReadyFor += time.Since(downSince)
				r.readyAgain = time.Now()
				downSince = time.Time{}
			}
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *readiness) close() {
	close(r.stop)
	<-r.done
}

// latencies collects durations by name.
type latencies struct {
	mu sync.Mutex
	m  map[string][]time.Duration
}

func (l *latencies) add(name string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string][]time.Duration{}
	}
	l.m[name] = append(l.m[name], d)
}

func (l *latencies) quantile(name string, q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := slices.Clone(l.m[name])
	if len(s) == 0 {
		return 0
	}
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func (l *latencies) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m[name])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// uniqueBase returns ids no other test run uses.
func uniqueBase() int64 { return time.Now().UnixNano()/1000%1_000_000_000*1000 + 1 }
