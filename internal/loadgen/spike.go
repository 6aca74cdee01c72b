package loadgen

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"
)

// phase is a stretch of the spike's schedule whose arrival rate goes
// linearly from From to To requests per second.
type phase struct {
	Name     string
	Duration time.Duration
	From, To float64
}

// arrival is one scheduled request: when it is due from the start, and in
// which phase.
type arrival struct {
	At    time.Duration
	Phase int
}

// spikePhases is the spike's shape: the normal rate before (if any), a ramp
// to the peak (from the rate before, or from nothing), the peak held, then
// the normal rate again for the tail.
func spikePhases(normal, peak float64, before, ramp, hold, tail time.Duration) []phase {
	var ps []phase
	start := 0.0
	if before > 0 {
		ps = append(ps, phase{Name: "before", Duration: before, From: normal, To: normal})
		start = normal
	}
	return append(ps,
		phase{Name: "ramp", Duration: ramp, From: start, To: peak},
		phase{Name: "hold", Duration: hold, From: peak, To: peak},
		phase{Name: "tail", Duration: tail, From: normal, To: normal})
}

// arrivals is the schedule of the phases: a request each time the expected
// number of arrivals since the start passes a whole number, so the count in
// any stretch is its rate's integral, the first request is due at once, and
// the schedule runs on across phases without a gap or a double.
func arrivals(phases []phase) []arrival {
	var (
		out    []arrival
		offset time.Duration
		cum    float64 // expected arrivals before the phase
		next   float64 // the next whole number of arrivals
	)
	for i, p := range phases {
		total := (p.From + p.To) / 2 * p.Duration.Seconds()
		for ; next < cum+total; next++ {
			t := timeFor(p, next-cum)
			out = append(out, arrival{At: offset + time.Duration(t*float64(time.Second)), Phase: i})
		}
		cum += total
		offset += p.Duration
	}
	return out
}

// timeFor is when, in seconds from its start, phase p has seen k expected
// arrivals: the root in [0, duration] of From·t + (To−From)·t²/(2·duration) = k.
func timeFor(p phase, k float64) float64 {
	d := p.Duration.Seconds()
	a := (p.To - p.From) / (2 * d)
	if math.Abs(a) < 1e-9 {
		return k / p.From
	}
	return (-p.From + math.Sqrt(max(0, p.From*p.From+4*a*k))) / (2 * a)
}

// event is one request of the spike: due and answered, from the start.
type event struct {
	Due, Done time.Duration
	Phase     int
	Outcome   string
}

func (e event) served() bool { return e.Outcome == outcomeCreated || e.Outcome == outcomeDuplicate }

// runArrivals sends a request at each arrival, each in its own goroutine so
// that a slow answer delays nothing else, with at most maxInFlight
// outstanding (beyond that an arrival is counted as the harness's
// overload, not sent), and returns what happened to each.
func runArrivals(ctx context.Context, sched []arrival, maxInFlight int, send func(ctx context.Context) string) []event {
	events := make([]event, len(sched))
	slots := make(chan struct{}, maxInFlight)
	start := time.Now()
	var wg sync.WaitGroup
	for i, a := range sched {
		if ctx.Err() != nil {
			events = events[:i]
			break
		}
		due := start.Add(a.At)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		select {
		case slots <- struct{}{}:
		default:
			events[i] = event{Due: a.At, Done: time.Since(start), Phase: a.Phase, Outcome: "harness_overload"}
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			out := send(ctx)
			events[i] = event{Due: a.At, Done: time.Since(start), Phase: a.Phase, Outcome: out}
		})
	}
	wg.Wait()
	return events
}

// PhaseReport is one phase of the spike: its requests by outcome and the
// latency of those served (201 or 409), by when they were due.
type PhaseReport struct {
	Name                   string
	Start, Duration        time.Duration
	Requests, Served, Shed int
	Outcomes               map[string]int
	// ServedRate is served answers per second of the phase.
	ServedRate float64
	P50, P99   time.Duration
}

// SecondReport is one second of the spike: requests due in it, answers
// given in it (served, shed with 503 and Retry-After, other), and the p99
// of the served requests due in it.
type SecondReport struct {
	Second                     int
	Phase                      string
	Due, Served, Shed, Other   int
	P99                        time.Duration
	NoneServed, HarnessDropped bool
}

// SpikeReport is the analysis of a spike.
type SpikeReport struct {
	Phases  []PhaseReport
	Seconds []SecondReport
	// Baseline is the normal p99 (of the worst second before the ramp,
	// else of the tail's last five seconds); Threshold is the p99 a second of the tail must
	// stay within to count as back to normal.
	Baseline, Threshold time.Duration
	// Recovery is from the end of the hold to the start of the first
	// second of the tail from which every second's p99 is within
	// Threshold; Recovered is false when the tail never got there.
	Recovery  time.Duration
	Recovered bool
	// Unexpected counts answers other than 201, 409 and 503 with Retry-After.
	Unexpected int
}

// analyseSpike accounts the events by phase and by second and finds when
// the tail's latency was back to normal: within factor times the baseline
// p99, and at least 5 ms above it (a noisy machine's p99 moves that much).
func analyseSpike(phases []phase, events []event, factor float64) SpikeReport {
	var r SpikeReport
	var total time.Duration
	starts := make([]time.Duration, len(phases))
	for i, p := range phases {
		starts[i] = total
		total += p.Duration
	}
	r.Phases = phaseReports(phases, starts, events)
	seconds := int(math.Ceil(total.Seconds()))
	r.Seconds = secondReports(phases, starts, events, seconds)
	for _, e := range events {
		if !e.served() && e.Outcome != outcomeShed {
			r.Unexpected++
		}
	}
	tail := len(phases) - 1
	windows := tailWindows(events, tail, starts[tail], phases[tail].Duration)
	r.Baseline = baseline(r.Seconds, windows)
	r.Threshold = max(time.Duration(factor*float64(r.Baseline)), r.Baseline+5*time.Millisecond)
	r.Recovery, r.Recovered = recovery(windows, r.Threshold)
	return r
}

func phaseReports(phases []phase, starts []time.Duration, events []event) []PhaseReport {
	out := make([]PhaseReport, len(phases))
	lat := make([][]time.Duration, len(phases))
	for i, p := range phases {
		out[i] = PhaseReport{Name: p.Name, Start: starts[i], Duration: p.Duration, Outcomes: map[string]int{}}
	}
	for _, e := range events {
		pr := &out[e.Phase]
		pr.Requests++
		pr.Outcomes[e.Outcome]++
		switch {
		case e.served():
			pr.Served++
			lat[e.Phase] = append(lat[e.Phase], e.Done-e.Due)
		case e.Outcome == outcomeShed:
			pr.Shed++
		}
	}
	for i := range out {
		l := percentiles(lat[i])
		out[i].P50, out[i].P99 = l.P50, l.P99
		if d := out[i].Duration.Seconds(); d > 0 {
			out[i].ServedRate = float64(out[i].Served) / d
		}
	}
	return out
}

func secondReports(phases []phase, starts []time.Duration, events []event, seconds int) []SecondReport {
	out := make([]SecondReport, seconds)
	lat := make([][]time.Duration, seconds)
	for s := range out {
		out[s].Second = s
		out[s].Phase = phases[phaseAt(starts, time.Duration(s)*time.Second)].Name
	}
	bucket := func(d time.Duration) int { return min(seconds-1, max(0, int(d/time.Second))) }
	for _, e := range events {
		due, done := bucket(e.Due), bucket(e.Done)
		out[due].Due++
		switch {
		case e.served():
			out[done].Served++
			lat[due] = append(lat[due], e.Done-e.Due)
		case e.Outcome == outcomeShed:
			out[done].Shed++
		case e.Outcome == "harness_overload":
			out[due].HarnessDropped = true
			out[done].Other++
		default:
			out[done].Other++
		}
	}
	for s := range out {
		out[s].P99 = percentiles(lat[s]).P99
		out[s].NoneServed = len(lat[s]) == 0 && out[s].Due > 0
	}
	return out
}

// phaseAt is the phase under way at d.
func phaseAt(starts []time.Duration, d time.Duration) int {
	i, found := slices.BinarySearch(starts, d)
	if !found {
		i--
	}
	return max(0, i)
}

// window is one second of the tail: the p99 of its served requests, and
// whether any request due in it was not served.
type window struct {
	p99     time.Duration
	unserve bool
	empty   bool
}

func tailWindows(events []event, tail int, start, d time.Duration) []window {
	n := int(math.Ceil(d.Seconds()))
	lat := make([][]time.Duration, n)
	out := make([]window, n)
	for _, e := range events {
		if e.Phase != tail {
			continue
		}
		w := min(n-1, int((e.Due-start)/time.Second))
		if e.served() {
			lat[w] = append(lat[w], e.Done-e.Due)
		} else {
			out[w].unserve = true
		}
	}
	for i := range out {
		out[i].p99 = percentiles(lat[i]).P99
		out[i].empty = len(lat[i]) == 0
	}
	return out
}

// baseline is the normal p99: the worst second's before the ramp, or
// without a phase before, the worst of the tail's last five seconds. The
// worst second rather than the whole phase's p99, because on a noisy
// machine normal seconds differ that much.
func baseline(seconds []SecondReport, tail []window) time.Duration {
	var b time.Duration
	found := false
	for _, s := range seconds {
		if s.Phase == "before" && s.Due > 0 && !s.NoneServed {
			b, found = max(b, s.P99), true
		}
	}
	if found {
		return b
	}
	for _, w := range tail[max(0, len(tail)-5):] {
		b = max(b, w.p99)
	}
	return b
}

// recovery is how long after the tail's start its windows were back to
// normal for good: each from then on served every request within threshold.
func recovery(windows []window, threshold time.Duration) (time.Duration, bool) {
	from := len(windows)
	for i := len(windows) - 1; i >= 0; i-- {
		w := windows[i]
		if w.empty || w.unserve || w.p99 > threshold {
			break
		}
		from = i
	}
	if from == len(windows) {
		return 0, false
	}
	return time.Duration(from) * time.Second, true
}

// Print writes the spike's phases, seconds and recovery.
func (r SpikeReport) Print(w io.Writer) {
	fmt.Fprintf(w, "%-7s %8s %8s %8s %8s %10s %10s %10s  %s\n", "phase", "start", "requests", "served", "shed", "served/s", "p50", "p99", "other outcomes")
	for _, p := range r.Phases {
		var other []string
		for k, v := range p.Outcomes {
			if k != outcomeCreated && k != outcomeDuplicate && k != outcomeShed {
				other = append(other, fmt.Sprintf("%s %d", k, v))
			}
		}
		slices.Sort(other)
		fmt.Fprintf(w, "%-7s %7.0fs %8d %8d %8d %10.0f %10s %10s  %v (201 %d, 409 %d)\n", p.Name, p.Start.Seconds(), p.Requests, p.Served, p.Shed,
			p.ServedRate, ms(p.P50), ms(p.P99), other, p.Outcomes[outcomeCreated], p.Outcomes[outcomeDuplicate])
	}
	fmt.Fprintf(w, "%6s %-6s %7s %7s %7s %7s %10s\n", "second", "phase", "due", "served", "shed", "other", "p99 (due)")
	for _, s := range r.Seconds {
		note := ""
		if s.NoneServed {
			note = " none served"
		}
		if s.HarnessDropped {
			note += " harness overloaded"
		}
		fmt.Fprintf(w, "%6d %-6s %7d %7d %7d %7d %10s%s\n", s.Second, s.Phase, s.Due, s.Served, s.Shed, s.Other, ms(s.P99), note)
	}
	if r.Recovered {
		fmt.Fprintf(w, "back to normal %s after the hold (every tail second's p99 within %s; baseline p99 %s)\n",
			r.Recovery, ms(r.Threshold), ms(r.Baseline))
	} else {
		fmt.Fprintf(w, "NOT back to normal by the end of the tail (p99 within %s; baseline p99 %s)\n", ms(r.Threshold), ms(r.Baseline))
	}
	fmt.Fprintf(w, "answers other than 201, 409 and 503 with Retry-After: %d\n", r.Unexpected)
}
