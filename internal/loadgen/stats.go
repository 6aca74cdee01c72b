package loadgen

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"
)

// recorder collects the latency and outcome of every operation.
type recorder struct {
	mu        sync.Mutex
	latencies map[string][]time.Duration
	outcomes  map[string]int
	start     time.Time
	end       time.Time
	// wall is how long a paced run took until its last answer, when longer
	// than its schedule.
	wall time.Duration
	// accepted are the outcomes that are not errors.
	accepted map[string]bool
}

func newRecorder() *recorder {
	return &recorder{latencies: map[string][]time.Duration{}, outcomes: map[string]int{},
		accepted: map[string]bool{"ok": true, outcomeCreated: true, outcomeDuplicate: true}}
}

// record notes one operation: its name, its latency measured from when it
// was due to start (so a stalled service cannot hide its queueing), and its
// outcome ("ok" or an error code).
func (r *recorder) record(op string, d time.Duration, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies[op] = append(r.latencies[op], d)
	r.outcomes[outcome]++
}

// merge adds what other recorded to r, for a summary over several phases.
func (r *recorder) merge(other *recorder) {
	other.mu.Lock()
	defer other.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for op, ds := range other.latencies {
		r.latencies[op] = append(r.latencies[op], ds...)
	}
	for k, v := range other.outcomes {
		r.outcomes[k] += v
	}
	for k, v := range other.accepted {
		r.accepted[k] = r.accepted[k] || v
	}
}

// Summary is the result of a run.
type Summary struct {
	Duration   time.Duration
	Requests   int
	Throughput float64
	// ServedRate is, for a paced run, answers per second until the last
	// one: below Throughput when the service fell behind the schedule.
	ServedRate float64
	Errors     int
	Outcomes   map[string]int
	Ops        map[string]Latency
	All        Latency
	// PeakRSS is the service's peak resident memory, when measured.
	PeakRSS int64
	// IdleRSS is its resident memory before the load, when measured.
	IdleRSS int64
	// StartupToReady is how long the spawned service took to be ready.
	StartupToReady time.Duration
	// PgbenchTPS is pgbench's rate for the same transaction, when run.
	PgbenchTPS float64
	// Once is the exactly-once check of a hot or spike run.
	Once *OnceCheck `json:",omitempty"`
	// Spike is the analysis of a spike run.
	Spike *SpikeReport `json:",omitempty"`
	// Chats is the comparison of a chats run.
	Chats *ChatsReport `json:",omitempty"`
}

// Latency percentiles.
type Latency struct {
	Count                   int
	P50, P95, P99, Max, Avg time.Duration
}

func percentiles(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Latency{Count: len(s), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: s[len(s)-1], Avg: sum / time.Duration(len(s))}
}

func (r *recorder) summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Duration: r.end.Sub(r.start), Outcomes: map[string]int{}, Ops: map[string]Latency{}}
	var all []time.Duration
	for op, ds := range r.latencies {
		s.Ops[op] = percentiles(ds)
		all = append(all, ds...)
	}
	s.All = percentiles(all)
	s.Requests = len(all)
	for k, v := range r.outcomes {
		s.Outcomes[k] = v
		if !r.accepted[k] {
			s.Errors += v
		}
	}
	if s.Duration > 0 {
		s.Throughput = float64(s.Requests) / s.Duration.Seconds()
	}
	if r.wall > 0 {
		s.ServedRate = float64(s.Requests) / max(r.wall, s.Duration).Seconds()
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// Print writes the summary as a table.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "duration %.1f s, %d requests, %.0f req/s, %d errors\n", s.Duration.Seconds(), s.Requests, s.Throughput, s.Errors)
	if s.ServedRate > 0 {
		fmt.Fprintf(w, "served %.0f req/s (%.1f %% of the schedule's %.0f/s): the last answer came after %.1f s\n",
			s.ServedRate, 100*s.ServedRate/s.Throughput, s.Throughput, float64(s.Requests)/s.ServedRate)
	}
	fmt.Fprintf(w, "%-22s %8s %10s %10s %10s %10s\n", "operation", "count", "p50", "p95", "p99", "max")
	ops := make([]string, 0, len(s.Ops))
	for op := range s.Ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		l := s.Ops[op]
		fmt.Fprintf(w, "%-22s %8d %10s %10s %10s %10s\n", op, l.Count, ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max))
	}
	fmt.Fprintf(w, "%-22s %8d %10s %10s %10s %10s\n", "all", s.All.Count, ms(s.All.P50), ms(s.All.P95), ms(s.All.P99), ms(s.All.Max))
	codes := make([]string, 0, len(s.Outcomes))
	for c := range s.Outcomes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "  %-30s %d\n", c, s.Outcomes[c])
	}
	if s.StartupToReady > 0 {
		fmt.Fprintf(w, "start-up to ready: %s\n", ms(s.StartupToReady))
	}
	if s.PgbenchTPS > 0 {
		fmt.Fprintf(w, "registrations through the service: %.0f/s; pgbench, same transaction: %.0f/s; ratio %.2f\n",
			s.Throughput, s.PgbenchTPS, s.Throughput/s.PgbenchTPS)
	}
	if s.Spike != nil {
		s.Spike.Print(w)
	}
	if s.Chats != nil {
		s.Chats.Print(w)
	}
	if s.Once != nil {
		s.Once.Print(w)
	}
	if s.IdleRSS > 0 {
		fmt.Fprintf(w, "service RSS: idle %.1f MiB, peak %.1f MiB\n", float64(s.IdleRSS)/(1<<20), float64(s.PeakRSS)/(1<<20))
	}
}
