package loadgen

import (
	"testing"
	"time"
)

func TestAPacedRunThatFellBehindServedLessThanItsSchedule(t *testing.T) {
	rec := newRecorder()
	rec.start = time.Unix(0, 0)
	rec.end = rec.start.Add(10 * time.Second)
	rec.wall = 20 * time.Second
	for range 1000 {
		rec.record("register_hot", time.Millisecond, outcomeCreated)
	}
	s := rec.summary()
	if s.Throughput != 100 || s.ServedRate != 50 {
		t.Fatalf("scheduled %v/s, served %v/s; want 100 and 50", s.Throughput, s.ServedRate)
	}
	rec.wall = 10 * time.Second
	if s := rec.summary(); s.ServedRate != 100 {
		t.Fatalf("on schedule: served %v/s, want 100", s.ServedRate)
	}
}

func TestShedRequestsAreErrorsUnlessAccepted(t *testing.T) {
	rec := newRecorder()
	for _, o := range []string{outcomeCreated, outcomeDuplicate, outcomeShed, "status_500"} {
		rec.record("register_hot", time.Millisecond, o)
	}
	if s := rec.summary(); s.Errors != 2 {
		t.Fatalf("%d errors, want the 503 and the 500", s.Errors)
	}
	rec.accepted[outcomeShed] = true
	if s := rec.summary(); s.Errors != 1 {
		t.Fatalf("%d errors with shedding accepted, want the 500", s.Errors)
	}
}
