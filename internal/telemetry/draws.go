package telemetry

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// drawMetrics are the metrics of verifiable draws: the drand beacon, the
// witnesses and the draw log.
type drawMetrics struct {
	beaconAttempts *prometheus.CounterVec
	beaconTime     *prometheus.HistogramVec
	waiting        *prometheus.GaugeVec
	witness        *prometheus.CounterVec
	cosign         *prometheus.CounterVec
	attestations   *prometheus.CounterVec
	rechecks       *prometheus.CounterVec
	logAppend      prometheus.Histogram
	logEntries     prometheus.Gauge
	protocol       *prometheus.GaugeVec

	mu        sync.Mutex
	protoSet  bool
	protoKeys prometheus.Labels
}

func newDrawMetrics(reg *prometheus.Registry) *drawMetrics {
	f := func(c prometheus.Collector) prometheus.Collector { reg.MustRegister(c); return c }
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f(prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)).(*prometheus.CounterVec)
	}
	m := &drawMetrics{}
	m.beaconAttempts = counter("beacon_fetch_attempts_total", "Attempts to fetch a drand beacon or chain info from a relay, by outcome.", "relay", "outcome")
	m.beaconTime = f(prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "beacon_fetch_duration_seconds", Help: "Duration of an attempt at a drand relay.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"relay"})).(*prometheus.HistogramVec)
	m.waiting = f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "draws_waiting",
		Help: "Draws and redraw rounds this process is waiting for: on the beacon round, or on the witnesses' cosignatures."},
		[]string{"on"})).(*prometheus.GaugeVec)
	m.witness = counter("witness_requests_total", "add-checkpoint requests to witnesses, by outcome.", "witness", "outcome")
	m.cosign = counter("witness_cosign_total", "Checkpoints submitted to the witnesses, by whether the quorum cosigned.", "result")
	m.attestations = counter("draw_attestations_total", "v2 freezes and redraw requests, by whether the witnesses attested them before their beacon round.", "kind", "result")
	m.rechecks = counter("draw_rechecks_total", "Outcomes of the draw-time re-check of v2 winners: passed, failed, or unchecked (Telegram could not be asked, per attempt).", "outcome")
	m.logAppend = f(prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "log_append_duration_seconds", Help: "Time to append entries to the draw log, in the event's transaction.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})).(prometheus.Histogram)
	m.logEntries = f(prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "log_entries",
		Help: "Entries in the draw log, as last read by the checkpoint loop."})).(prometheus.Gauge)
	m.protocol = f(prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "draw_protocol_info",
		Help: "1 for the protocol new giveaways get, and whether their winners come from public randomness."},
		[]string{"protocol", "public_randomness"})).(*prometheus.GaugeVec)
	for _, on := range []string{"beacon", "witnesses"} {
		m.waiting.WithLabelValues(on)
	}
	for _, r := range []string{"quorum", "short"} {
		m.cosign.WithLabelValues(r)
	}
	for _, k := range []string{"freeze", "redraw"} {
		for _, r := range []string{"attested", "unattested"} {
			m.attestations.WithLabelValues(k, r)
		}
	}
	for _, o := range []string{"passed", "failed", "unchecked"} {
		m.rechecks.WithLabelValues(o)
	}
	return m
}

// BeaconAttempt records one attempt at a drand relay; outcome is one of
// internal/drand's outcomes.
func (m *Metrics) BeaconAttempt(relay, outcome string, d time.Duration) {
	m.draw.beaconAttempts.WithLabelValues(relay, outcome).Inc()
	if outcome != "rejected" {
		m.draw.beaconTime.WithLabelValues(relay).Observe(d.Seconds())
	}
}

// WatchBeaconRelays exports each relay's circuit breaker, read at scrape
// time: 0 closed, 1 half-open, 2 open. The relays are created at zero so
// that rates exist before the first fetch.
func (m *Metrics) WatchBeaconRelays(relays []string, states func() map[string]string) {
	for _, r := range relays {
		m.draw.beaconTime.WithLabelValues(r)
		for _, o := range []string{"ok", "invalid", "not_yet", "error", "timeout", "rejected"} {
			m.draw.beaconAttempts.WithLabelValues(r, o)
		}
	}
	m.reg.MustRegister(&breakers{desc: beaconBreaker, states: states})
}

var beaconBreaker = desc("beacon_relay_breaker_state", "A drand relay's circuit breaker: 0 closed, 1 half-open, 2 open.", "relay")

type breakers struct {
	desc   *prometheus.Desc
	states func() map[string]string
}

func (b *breakers) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b *breakers) Collect(ch chan<- prometheus.Metric) {
	for name, st := range b.states() {
		ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue, breakerValue(st), name)
	}
}

func breakerValue(state string) float64 {
	switch state {
	case "open":
		return 2
	case "half-open":
		return 1
	}
	return 0
}

// WaitStarted counts a draw waiting on "beacon" or "witnesses".
func (m *Metrics) WaitStarted(on string) { m.draw.waiting.WithLabelValues(on).Inc() }

// WaitFinished uncounts a draw WaitStarted counted.
func (m *Metrics) WaitFinished(on string) { m.draw.waiting.WithLabelValues(on).Dec() }

// WatchBeaconOverdue exports how long past its time the oldest beacon round
// still awaited is, read at scrape time from overdue (0 when none is).
func (m *Metrics) WatchBeaconOverdue(overdue func() time.Duration) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "beacon_overdue_seconds",
		Help: "How long past its publication time the oldest beacon round a draw still waits for is; 0 when none is overdue.",
	}, func() float64 { return overdue().Seconds() }))
}

// WitnessAttempt records one add-checkpoint request.
func (m *Metrics) WitnessAttempt(witness, outcome string) {
	m.draw.witness.WithLabelValues(witness, outcome).Inc()
}

// WatchWitnesses creates each witness's series at zero.
func (m *Metrics) WatchWitnesses(names []string) {
	for _, n := range names {
		for _, o := range []string{"cosigned", "conflict", "bad_proof", "refused", "bad_cosignature", "timeout", "canceled", "error"} {
			m.draw.witness.WithLabelValues(n, o)
		}
	}
}

// Cosigned records a checkpoint submission: whether the quorum cosigned.
func (m *Metrics) Cosigned(quorum bool) {
	r := "short"
	if quorum {
		r = "quorum"
	}
	m.draw.cosign.WithLabelValues(r).Inc()
}

// Attestation records whether a v2 freeze or redraw request ("freeze",
// "redraw") was attested by the witnesses before its beacon round.
func (m *Metrics) Attestation(kind string, attested bool) {
	r := "unattested"
	if attested {
		r = "attested"
	}
	m.draw.attestations.WithLabelValues(kind, r).Inc()
}

// Recheck records one outcome of the draw-time re-check of a winner:
// "passed", "failed", or "unchecked" when Telegram could not be asked
// (once for every attempt).
func (m *Metrics) Recheck(outcome string) { m.draw.rechecks.WithLabelValues(outcome).Inc() }

// LogAppended records the time one append to the draw log took.
func (m *Metrics) LogAppended(d time.Duration) { m.draw.logAppend.Observe(d.Seconds()) }

// LogSize records the draw log's size.
func (m *Metrics) LogSize(entries uint64) { m.draw.logEntries.Set(float64(entries)) }

// WatchCheckpointAge exports, read at scrape time, how long the draw log
// has held entries that no signed checkpoint covers (0 while every entry
// is covered).
func (m *Metrics) WatchCheckpointAge(age func() time.Duration) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "log_checkpoint_age_seconds",
		Help: "How long the draw log has held entries that no signed checkpoint covers; 0 while every entry is covered.",
	}, func() float64 { return age().Seconds() }))
}

// DrawProtocol records the protocol new giveaways get ("v1" or "v2") and
// whether their winners come from public randomness.
func (m *Metrics) DrawProtocol(protocol string, publicRandomness bool) {
	d := m.draw
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.protoSet {
		d.protocol.Delete(d.protoKeys)
	}
	d.protoKeys = prometheus.Labels{"protocol": protocol, "public_randomness": strconv.FormatBool(publicRandomness)}
	d.protoSet = true
	d.protocol.With(d.protoKeys).Set(1)
}
