package loadgen

import (
	"context"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func countPhase(sched []arrival, i int) int {
	n := 0
	for _, a := range sched {
		if a.Phase == i {
			n++
		}
	}
	return n
}

func TestArrivalsAtAConstantRate(t *testing.T) {
	sched := arrivals([]phase{{Name: "flat", Duration: 2 * time.Second, From: 1000, To: 1000}})
	if len(sched) != 2000 {
		t.Fatalf("%d arrivals in 2 s at 1,000/s, want 2000", len(sched))
	}
	for i, a := range sched {
		if want := time.Duration(i) * time.Millisecond; (a.At - want).Abs() > time.Microsecond {
			t.Fatalf("arrival %d at %s, want %s", i, a.At, want)
		}
	}
}

func TestArrivalsOfTheSpike(t *testing.T) {
	phases := spikePhases(500, 3000, 10*time.Second, time.Second, 30*time.Second, 30*time.Second)
	names := []string{}
	for _, p := range phases {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"before", "ramp", "hold", "tail"}) {
		t.Fatalf("phases %v", names)
	}
	if phases[1].From != 500 || phases[1].To != 3000 {
		t.Fatalf("the ramp goes from %v to %v, want from the normal rate to the peak", phases[1].From, phases[1].To)
	}
	sched := arrivals(phases)
	for i, want := range []int{5000, 1750, 90000, 15000} {
		if got := countPhase(sched, i); got < want-1 || got > want+1 {
			t.Errorf("phase %s: %d arrivals, want %d", phases[i].Name, got, want)
		}
	}
	if !slices.IsSortedFunc(sched, func(a, b arrival) int { return int(a.At - b.At) }) {
		t.Fatal("the schedule is not in time order")
	}
	bounds := []time.Duration{0, 10 * time.Second, 11 * time.Second, 41 * time.Second, 71 * time.Second}
	for _, a := range sched {
		if a.At < bounds[a.Phase] || a.At > bounds[a.Phase+1] {
			t.Fatalf("an arrival of phase %d at %s, outside [%s, %s]", a.Phase, a.At, bounds[a.Phase], bounds[a.Phase+1])
		}
	}
}

func TestARampFromNothing(t *testing.T) {
	phases := spikePhases(500, 3000, 0, time.Second, time.Second, time.Second)
	if phases[0].Name != "ramp" || phases[0].From != 0 {
		t.Fatalf("without a phase before, the ramp starts at %v (%s), want 0", phases[0].From, phases[0].Name)
	}
	sched := arrivals(phases[:1])
	if len(sched) != 1500 {
		t.Fatalf("%d arrivals on a ramp from 0 to 3,000/s in 1 s, want 1500", len(sched))
	}
	// The rate rises linearly: a quarter of the ramp's arrivals in its first
	// half second.
	firstHalf := 0
	for _, a := range sched {
		if a.At < 500*time.Millisecond {
			firstHalf++
		}
	}
	if math.Abs(float64(firstHalf)-375) > 1 {
		t.Fatalf("%d arrivals in the ramp's first half second, want 375", firstHalf)
	}
}

func TestARampDown(t *testing.T) {
	sched := arrivals([]phase{{Name: "down", Duration: time.Second, From: 2000, To: 0}})
	if len(sched) != 1000 {
		t.Fatalf("%d arrivals, want 1000", len(sched))
	}
	early := 0
	for _, a := range sched {
		if a.At < 450*time.Millisecond {
			early++
		}
	}
	// 2000·t − 1000·t² arrivals by t.
	if early != 698 {
		t.Fatalf("%d arrivals in the first 0.45 s of a ramp down, want 698", early)
	}
}

// spikeEvents builds a run: per phase and second, n requests due at the
// second's start, answered after lat with outcome.
type slice struct {
	phase, second, n int
	lat              time.Duration
	outcome          string
}

func spikeEvents(slices []slice) []event {
	var out []event
	for _, s := range slices {
		for range s.n {
			due := time.Duration(s.second) * time.Second
			out = append(out, event{Due: due, Done: due + s.lat, Phase: s.phase, Outcome: s.outcome})
		}
	}
	return out
}

var testPhases = []phase{
	{Name: "before", Duration: 2 * time.Second, From: 100, To: 100},
	{Name: "ramp", Duration: time.Second, From: 100, To: 1000},
	{Name: "hold", Duration: 2 * time.Second, From: 1000, To: 1000},
	{Name: "tail", Duration: 5 * time.Second, From: 100, To: 100},
}

func TestSpikeAccountsPhasesAndSeconds(t *testing.T) {
	events := spikeEvents([]slice{
		{0, 0, 100, 10 * time.Millisecond, outcomeCreated},
		{0, 1, 100, 20 * time.Millisecond, outcomeCreated},
		{1, 2, 500, 50 * time.Millisecond, outcomeCreated},
		{2, 3, 800, 900 * time.Millisecond, outcomeCreated},
		{2, 3, 100, 800 * time.Millisecond, outcomeDuplicate},
		{2, 3, 100, time.Millisecond, outcomeShed},
		{2, 4, 1000, 1500 * time.Millisecond, outcomeCreated},
		{2, 4, 3, 8 * time.Second, "timeout"},
		{3, 5, 100, 300 * time.Millisecond, outcomeCreated},
		{3, 6, 100, 100 * time.Millisecond, outcomeCreated},
		{3, 7, 100, 30 * time.Millisecond, outcomeCreated},
		{3, 8, 100, 20 * time.Millisecond, outcomeCreated},
		{3, 9, 100, 10 * time.Millisecond, outcomeCreated},
	})
	r := analyseSpike(testPhases, events, 2)

	hold := r.Phases[2]
	if hold.Requests != 2003 || hold.Served != 1900 || hold.Shed != 100 || hold.Outcomes["timeout"] != 3 || hold.Outcomes[outcomeDuplicate] != 100 {
		t.Fatalf("hold: %+v", hold)
	}
	if hold.ServedRate != 950 {
		t.Fatalf("hold served %v/s, want 950", hold.ServedRate)
	}
	if hold.P50 != 1500*time.Millisecond || hold.P99 != 1500*time.Millisecond {
		t.Fatalf("hold p50 %s p99 %s, want 1.5 s (the 503s and the timeouts are not served)", hold.P50, hold.P99)
	}
	if r.Phases[0].P99 != 20*time.Millisecond || r.Phases[0].Served != 200 {
		t.Fatalf("before: %+v", r.Phases[0])
	}
	if r.Unexpected != 3 {
		t.Fatalf("%d unexpected answers, want the 3 timeouts", r.Unexpected)
	}

	if len(r.Seconds) != 10 {
		t.Fatalf("%d seconds, want 10", len(r.Seconds))
	}
	s2, s3, s4 := r.Seconds[2], r.Seconds[3], r.Seconds[4]
	// Answers count in the second they were given: those due at 3 s are
	// answered within it, the 1.5 s ones of second 4 in second 5.
	if s3.Due != 1000 || s3.Served != 900 || s3.Shed != 100 || s3.Phase != "hold" {
		t.Fatalf("second 3: %+v", s3)
	}
	if s4.Due != 1003 || s4.Served != 0 || r.Seconds[5].Served != 1100 {
		t.Fatalf("second 4: %+v; second 5: %+v", s4, r.Seconds[5])
	}
	if r.Seconds[9].Other != 3 {
		t.Fatalf("the timeouts answered at 12 s belong to the last second: %+v", r.Seconds[9])
	}
	if s2.Phase != "ramp" || s2.P99 != 50*time.Millisecond {
		t.Fatalf("second 2: %+v", s2)
	}
}

func TestSpikeRecovery(t *testing.T) {
	head := []slice{
		{0, 0, 100, 10 * time.Millisecond, outcomeCreated},
		{0, 1, 100, 20 * time.Millisecond, outcomeCreated},
		{2, 3, 1000, time.Second, outcomeCreated},
	}
	tail := func(lats ...time.Duration) []event {
		s := slices.Clone(head)
		for i, l := range lats {
			s = append(s, slice{3, 5 + i, 100, l, outcomeCreated})
		}
		return spikeEvents(s)
	}
	ms := time.Millisecond
	cases := []struct {
		name      string
		events    []event
		recovered bool
		recovery  time.Duration
	}{
		{"at once", tail(30*ms, 20*ms, 10*ms, 10*ms, 10*ms), true, 0},
		{"after two seconds", tail(300*ms, 100*ms, 40*ms, 10*ms, 10*ms), true, 2 * time.Second},
		{"a slow second later counts", tail(10*ms, 100*ms, 10*ms, 10*ms, 10*ms), true, 2 * time.Second},
		{"never", tail(300*ms, 100*ms, 40*ms, 10*ms, 41*ms), false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := analyseSpike(testPhases, c.events, 2)
			if r.Baseline != 20*ms || r.Threshold != 40*ms {
				t.Fatalf("baseline %s threshold %s, want the worst second before (20 ms) and twice it", r.Baseline, r.Threshold)
			}
			if r.Recovered != c.recovered || r.Recovery != c.recovery {
				t.Fatalf("recovered %v after %s, want %v after %s", r.Recovered, r.Recovery, c.recovered, c.recovery)
			}
		})
	}

	t.Run("a shed request in the tail is not normal", func(t *testing.T) {
		events := tail(10*ms, 10*ms, 10*ms, 10*ms, 10*ms)
		events = append(events, event{Due: 6 * time.Second, Done: 6 * time.Second, Phase: 3, Outcome: outcomeShed})
		r := analyseSpike(testPhases, events, 2)
		if !r.Recovered || r.Recovery != 2*time.Second {
			t.Fatalf("recovered %v after %s, want after 2 s", r.Recovered, r.Recovery)
		}
	})

	t.Run("without a phase before, the tail's end is normal", func(t *testing.T) {
		ps := []phase{testPhases[1], testPhases[2], {Name: "tail", Duration: 8 * time.Second, From: 100, To: 100}}
		var s []slice
		for i, l := range []time.Duration{300 * ms, 8 * ms, 10 * ms, 9 * ms, 10 * ms, 10 * ms, 7 * ms, 10 * ms} {
			s = append(s, slice{2, 3 + i, 100, l, outcomeCreated})
		}
		r := analyseSpike(ps, spikeEvents(s), 2)
		if r.Baseline != 10*ms || r.Threshold != 20*ms || !r.Recovered || r.Recovery != time.Second {
			t.Fatalf("baseline %s threshold %s recovered %v after %s", r.Baseline, r.Threshold, r.Recovered, r.Recovery)
		}
	})
	t.Run("the threshold is at least 5 ms above the baseline", func(t *testing.T) {
		events := spikeEvents([]slice{{0, 0, 100, time.Millisecond, outcomeCreated}, {3, 5, 100, 5 * ms, outcomeCreated}})
		r := analyseSpike(testPhases, events, 2)
		if r.Threshold != 6*ms {
			t.Fatalf("threshold %s, want 6 ms", r.Threshold)
		}
	})
}

func TestRunArrivalsSendsEachArrivalOnce(t *testing.T) {
	sched := make([]arrival, 500)
	for i := range sched {
		sched[i] = arrival{Phase: i % 3}
	}
	var sent atomic.Int64
	events := runArrivals(context.Background(), sched, 1000, func(context.Context) string {
		if sent.Add(1)%2 == 0 {
			return outcomeShed
		}
		return outcomeCreated
	})
	if sent.Load() != 500 || len(events) != 500 {
		t.Fatalf("%d sent, %d events, want 500", sent.Load(), len(events))
	}
	created := 0
	for i, e := range events {
		if e.Phase != i%3 || e.Done < e.Due {
			t.Fatalf("event %d: %+v", i, e)
		}
		if e.Outcome == outcomeCreated {
			created++
		}
	}
	if created != 250 {
		t.Fatalf("%d created, want 250", created)
	}
}

func TestRunArrivalsStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	events := runArrivals(ctx, make([]arrival, 10), 10, func(context.Context) string { return outcomeCreated })
	if len(events) != 0 {
		t.Fatalf("%d requests sent after the context ended", len(events))
	}
}
