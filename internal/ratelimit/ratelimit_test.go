package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/ratelimit"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestMemoryAllowsExactlyTheBudget(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	m := ratelimit.NewMemory(c.now)
	l := ratelimit.Per(5, time.Minute)
	ctx := context.Background()
	for i := range 5 {
		res, _ := m.Allow(ctx, "k", l)
		if !res.Allowed || res.Remaining != 4-i {
			t.Fatalf("request %d: %+v", i+1, res)
		}
	}
	res, _ := m.Allow(ctx, "k", l)
	if res.Allowed || res.RetryAfter != 12*time.Second || res.Remaining != 0 {
		t.Fatalf("sixth request: %+v; want refused with RetryAfter 12s", res)
	}
	if other, _ := m.Allow(ctx, "other", l); !other.Allowed {
		t.Fatal("keys must not share a budget")
	}
	c.t = c.t.Add(12 * time.Second)
	if res, _ := m.Allow(ctx, "k", l); !res.Allowed {
		t.Fatalf("after one emission interval: %+v", res)
	}
	if res, _ := m.Allow(ctx, "k", l); res.Allowed {
		t.Fatalf("only one request refills per interval: %+v", res)
	}
	c.t = c.t.Add(2 * time.Minute)
	if res, _ := m.Allow(ctx, "k", l); !res.Allowed || res.Remaining != 4 {
		t.Fatalf("after a full period the budget is back: %+v", res)
	}
}

type broken struct{}

func (broken) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	return ratelimit.Result{}, errors.New("connection refused")
}

func (broken) AllowN(context.Context, string, ratelimit.Limit, int) (ratelimit.Result, error) {
	return ratelimit.Result{}, errors.New("connection refused")
}

func TestFailOpenAllowsAndCounts(t *testing.T) {
	var seen error
	f := &ratelimit.FailOpen{Limiter: broken{}, OnFailure: func(err error) { seen = err }}
	for range 3 {
		res, err := f.Allow(context.Background(), "k", ratelimit.Per(1, time.Hour))
		if err != nil || !res.Allowed {
			t.Fatalf("a failing limiter must allow: %+v %v", res, err)
		}
	}
	if f.Failures() != 3 || seen == nil {
		t.Fatalf("failures = %d, hook saw %v", f.Failures(), seen)
	}
}
