package telemetry_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/telegive/participant-service/internal/telemetry"
)

// TestDrawMetrics: the draw metrics export what they are told, with one
// protocol series at a time and the breakers read at scrape time.
func TestDrawMetrics(t *testing.T) {
	m := telemetry.NewMetrics("test", "abc", 0)
	state := map[string]string{"https://relay-a.example": "open", "https://relay-b.example": "closed"}
	m.WatchBeaconRelays([]string{"https://relay-a.example", "https://relay-b.example"}, func() map[string]string { return state })
	m.WatchBeaconOverdue(func() time.Duration { return 90 * time.Second })
	m.WatchCheckpointAge(func() time.Duration { return 4 * time.Second })
	m.WatchWitnesses([]string{"witness.example/one"})
	m.BeaconAttempt("https://relay-a.example", "timeout", 3*time.Second)
	m.BeaconAttempt("https://relay-a.example", "rejected", 0)
	m.WitnessAttempt("witness.example/one", "cosigned")
	m.Cosigned(true)
	m.Cosigned(false)
	m.Attestation("freeze", false)
	m.Recheck("failed")
	m.Recheck("unchecked")
	m.Recheck("unchecked")
	m.WaitStarted("beacon")
	m.WaitStarted("beacon")
	m.WaitFinished("beacon")
	m.LogAppended(2 * time.Millisecond)
	m.LogSize(42)
	m.DrawProtocol("v1", false)
	m.DrawProtocol("v2", true)

	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"relay a's breaker, open", value(t, m, "participant_beacon_relay_breaker_state", `relay="https://relay-a.example"`), 2},
		{"relay b's breaker, closed", value(t, m, "participant_beacon_relay_breaker_state", `relay="https://relay-b.example"`), 0},
		{"overdue", value(t, m, "participant_beacon_overdue_seconds", ``), 90},
		{"checkpoint age", value(t, m, "participant_log_checkpoint_age_seconds", ``), 4},
		{"waiting on the beacon", value(t, m, "participant_draws_waiting", `on="beacon"`), 1},
		{"waiting on witnesses", value(t, m, "participant_draws_waiting", `on="witnesses"`), 0},
		{"log entries", value(t, m, "participant_log_entries", ``), 42},
		{"protocol", value(t, m, "participant_draw_protocol_info", `protocol="v2",public_randomness="true"`), 1},
		{"quorum reached", value(t, m, "participant_witness_cosign_total", `result="quorum"`), 1},
		{"quorum missed", value(t, m, "participant_witness_cosign_total", `result="short"`), 1},
		{"timeouts of relay a", value(t, m, "participant_beacon_fetch_attempts_total", `outcome="timeout",relay="https://relay-a.example"`), 1},
		{"rejections of relay a", value(t, m, "participant_beacon_fetch_attempts_total", `outcome="rejected",relay="https://relay-a.example"`), 1},
		{"ok of relay b, created at zero", value(t, m, "participant_beacon_fetch_attempts_total", `outcome="ok",relay="https://relay-b.example"`), 0},
		{"unattested freezes", value(t, m, "participant_draw_attestations_total", `kind="freeze",result="unattested"`), 1},
		{"failed re-checks", value(t, m, "participant_draw_rechecks_total", `outcome="failed"`), 1},
		{"unchecked re-checks", value(t, m, "participant_draw_rechecks_total", `outcome="unchecked"`), 2},
		{"passed re-checks, created at zero", value(t, m, "participant_draw_rechecks_total", `outcome="passed"`), 0},
		{"witness cosigned", value(t, m, "participant_witness_requests_total", `outcome="cosigned",witness="witness.example/one"`), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Only the protocol in use has a series.
	if fs := gather(t, m, "participant_draw_protocol_info"); len(fs) != 1 || len(fs[0].GetMetric()) != 1 {
		t.Errorf("protocol series: %v", fs)
	}
	// Rejected attempts call nobody: no duration is recorded for them.
	if n := histogramCount(t, m, "participant_beacon_fetch_duration_seconds"); n != 1 {
		t.Errorf("beacon fetch durations = %d, want 1", n)
	}
	if n := histogramCount(t, m, "participant_log_append_duration_seconds"); n != 1 {
		t.Errorf("log append durations = %d, want 1", n)
	}
}

// value returns the value of the counter or gauge series of name whose
// labels print as labels.
func value(t *testing.T, m *telemetry.Metrics, name, labels string) float64 {
	t.Helper()
	for _, f := range gather(t, m, name) {
		for _, s := range f.GetMetric() {
			if printLabels(s) == labels {
				if c := s.GetCounter(); c != nil {
					return c.GetValue()
				}
				return s.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s}", name, labels)
	return 0
}

// histogramCount returns the observations of histogram name, all series.
func histogramCount(t *testing.T, m *telemetry.Metrics, name string) uint64 {
	t.Helper()
	var n uint64
	for _, f := range gather(t, m, name) {
		for _, s := range f.GetMetric() {
			n += s.GetHistogram().GetSampleCount()
		}
	}
	return n
}

func gather(t *testing.T, m *telemetry.Metrics, name string) []*dto.MetricFamily {
	t.Helper()
	fs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []*dto.MetricFamily
	for _, f := range fs {
		if f.GetName() == name {
			out = append(out, f)
		}
	}
	return out
}

func printLabels(s *dto.Metric) string {
	var parts []string
	for _, l := range s.GetLabel() {
		parts = append(parts, l.GetName()+"="+strconv.Quote(l.GetValue()))
	}
	return strings.Join(parts, ",")
}
