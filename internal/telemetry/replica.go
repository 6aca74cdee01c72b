package telemetry

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// ReplicaStats is the read replica's state, as the metrics show it.
type ReplicaStats struct {
	// Lag is how far the replica is behind the primary, in seconds; +Inf
	// while it is down or not measured yet.
	Lag float64
	// Usable is whether reads that may be stale go to it now.
	Usable bool
}

// newReplicaReads is the counter of the reads the replica may serve,
// every target created at zero.
func newReplicaReads(reg *prometheus.Registry) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "db_replica_reads_total",
		Help: "Reads the read replica may serve, by where they went: replica, primary (no replica, or the request fell back before) or fallback (the replica lagged, was down or failed the read)."},
		[]string{"target"})
	reg.MustRegister(c)
	for _, target := range []string{"replica", "primary", "fallback"} {
		c.WithLabelValues(target)
	}
	return c
}

// ReplicaRead counts a read the replica may serve by where it went:
// "replica", "primary" or "fallback".
func (m *Metrics) ReplicaRead(target string) { m.replicaReads.WithLabelValues(target).Inc() }

// WatchReplica exports the read replica's lag and whether it serves,
// read at scrape time.
func (m *Metrics) WatchReplica(stats func() ReplicaStats) {
	m.reg.MustRegister(&replicaState{stats: stats})
}

var (
	replicaLag    = desc("db_replica_lag_seconds", "How far the read replica is behind the primary; +Inf while it is down.")
	replicaUsable = desc("db_replica_usable", "1 while reads that may be stale go to the read replica, 0 while they go to the primary.")
)

type replicaState struct{ stats func() ReplicaStats }

func (r *replicaState) Describe(ch chan<- *prometheus.Desc) {
	ch <- replicaLag
	ch <- replicaUsable
}

func (r *replicaState) Collect(ch chan<- prometheus.Metric) {
	s := r.stats()
	usable := 0.0
	if s.Usable {
		usable = 1
	}
	lag := s.Lag
	if math.IsNaN(lag) {
		lag = math.Inf(1)
	}
	ch <- prometheus.MustNewConstMetric(replicaLag, prometheus.GaugeValue, lag)
	ch <- prometheus.MustNewConstMetric(replicaUsable, prometheus.GaugeValue, usable)
}
