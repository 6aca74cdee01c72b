package upstream

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Prober checks services this one does not call, only watches (the bot and
// media services), in the background, so that a health request reads the
// last result instead of calling them.
type Prober struct {
	targets  map[string]string
	client   *http.Client
	timeout  time.Duration
	interval time.Duration

	mu    sync.Mutex
	state map[string]ProbeResult
}

// ProbeResult is a target's last check.
type ProbeResult struct {
	Up        bool
	CheckedAt time.Time
}

// NewProber watches targets (name to base URL) every interval. It follows
// no redirect, like the clients, so a probe never reaches a host other
// than the configured one.
func NewProber(targets map[string]string, interval, timeout time.Duration) *Prober {
	client := &http.Client{CheckRedirect: refuseRedirect}
	return &Prober{targets: targets, client: client, timeout: timeout, interval: interval, state: map[string]ProbeResult{}}
}

// Run probes until ctx ends.
func (p *Prober) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		p.probeAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Prober) probeAll(ctx context.Context) {
	var wg sync.WaitGroup
	for name, base := range p.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			up := p.probe(ctx, strings.TrimSuffix(base, "/")+"/health")
			p.mu.Lock()
			p.state[name] = ProbeResult{Up: up, CheckedAt: time.Now().UTC()}
			p.mu.Unlock()
		}()
	}
	wg.Wait()
}

func (p *Prober) probe(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	// Any answer but a redirect or a 5xx shows the service up: a 4xx
	// still comes from it, a redirect may come from anything in front.
	return resp.StatusCode < 300 || resp.StatusCode >= 400 && resp.StatusCode < 500
}

// Results returns the last result per target; a target not yet checked is
// absent.
func (p *Prober) Results() map[string]ProbeResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]ProbeResult, len(p.state))
	for k, v := range p.state {
		out[k] = v
	}
	return out
}
