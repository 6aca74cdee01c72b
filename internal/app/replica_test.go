package app_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
)

// metricValue returns the value of the series named exactly as series
// (name and labels, as exported), or -1 when it is not exported.
func metricValue(t *testing.T, metricsAddr, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return v
		}
	}
	return -1
}

func number(t *testing.T, body map[string]any, key string) float64 {
	t.Helper()
	v, ok := body[key].(float64)
	if !ok {
		t.Fatalf("answer %v has no number %s", body, key)
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// replicaStatus is the database_replica check of GET /health.
func replicaStatus(t *testing.T, base string) (int, string, string) {
	t.Helper()
	code, body := get(t, base+"/health")
	checks, _ := body["checks"].(map[string]any)
	check, _ := checks["database_replica"].(map[string]any)
	status, _ := check["status"].(string)
	overall, _ := body["status"].(string)
	return code, overall, status
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadReplicaEndToEnd runs the service on a primary of its own with a
// streaming replica as DATABASE_READ_URL. With replay paused, the public
// count is the replica's stale one while the lag is within the bound and
// the primary's fresh one beyond it; captcha-status, a read-your-writes
// route, always answers from the primary. With the replica stopped, reads
// are served by the primary, readiness holds and /health reports the
// replica down. The metrics count where the reads went and export the lag.
func TestReadReplicaEndToEnd(t *testing.T) {
	t.Parallel()
	primary := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
	rep := testenv.StartReplica(t, primary, testenv.ReplicaOptions{})
	svc := testenv.StartService(t, "DATABASE_URL="+primary.URL(), "DATABASE_READ_URL="+rep.URL(),
		"DATABASE_READ_MAX_LAG=1.5", "DATABASE_READ_CHECK_INTERVAL=0.1")
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{PostgresURL: primary.URL(), PoolSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Now().UTC().Truncate(time.Second)
	enter := func(userID int64) {
		t.Helper()
		if _, _, err := st.InsertParticipant(ctx, participant.NewParticipant{GiveawayID: 10, UserID: userID, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	count := func() float64 {
		t.Helper()
		code, body := get(t, svc.URL+"/api/participants/10/count")
		if code != http.StatusOK {
			t.Fatalf("count: %d %v", code, body)
		}
		return number(t, body, "count")
	}
	reads := func(target string) float64 {
		return metricValue(t, svc.MetricsAddr(), `participant_db_replica_reads_total{target="`+target+`"}`)
	}

	enter(1)
	if err := rep.WaitReplayed(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replica to be reported ok", func() bool { _, _, s := replicaStatus(t, svc.URL); return s == "ok" })
	before := reads("replica")
	if n := count(); n != 1 {
		t.Fatalf("count = %v, want 1", n)
	}
	if got := reads("replica"); got != before+1 {
		t.Fatalf("replica reads %v -> %v, want one more", before, got)
	}
	if lag := metricValue(t, svc.MetricsAddr(), "participant_db_replica_lag_seconds"); lag < 0 || lag > 1.5 {
		t.Fatalf("participant_db_replica_lag_seconds = %v, want within the bound", lag)
	}
	if u := metricValue(t, svc.MetricsAddr(), "participant_db_replica_usable"); u != 1 {
		t.Fatalf("participant_db_replica_usable = %v, want 1", u)
	}

	rep.PauseReplay()
	enter(2)
	if err := st.AddParticipation(ctx, 2, at); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("count within the lag bound = %v, want the replica's stale 1", n)
	}
	if _, body := get(t, svc.URL+"/api/participants/captcha-status/2"); number(t, body, "total_participations") != 1 {
		t.Fatalf("captcha-status = %v, want the primary's total_participations 1", body)
	}
	if _, body := get(t, svc.URL+"/api/participants/history/2"); number(t, asMap(body["user_stats"]), "total_participations") != 0 {
		t.Fatalf("history within the lag bound = %v, want the replica's total_participations 0", body)
	}

	eventually(t, "the replica to be reported lagging", func() bool { _, _, s := replicaStatus(t, svc.URL); return s == "lagging" })
	fallbacks := reads("fallback")
	if n := count(); n != 2 {
		t.Fatalf("count beyond the lag bound = %v, want the primary's 2", n)
	}
	if got := reads("fallback"); got != fallbacks+1 {
		t.Fatalf("fallback reads %v -> %v, want one more", fallbacks, got)
	}
	if u := metricValue(t, svc.MetricsAddr(), "participant_db_replica_usable"); u != 0 {
		t.Fatalf("participant_db_replica_usable = %v while lagging, want 0", u)
	}

	rep.ResumeReplay()
	rep.Stop(testenv.StopImmediate)
	for range 3 {
		if n := count(); n != 2 {
			t.Fatalf("count with the replica stopped = %v, want the primary's 2", n)
		}
	}
	eventually(t, "the replica to be reported down", func() bool { _, _, s := replicaStatus(t, svc.URL); return s == "down" })
	if code, overall, _ := replicaStatus(t, svc.URL); code != http.StatusOK || overall != "degraded" {
		t.Fatalf("/health with the replica down: %d %s, want 200 degraded", code, overall)
	}
	if code, body := get(t, svc.URL+"/health/ready"); code != http.StatusOK {
		t.Fatalf("/health/ready with the replica down: %d %v, want 200", code, body)
	}
	if n := count(); n != 2 {
		t.Fatalf("count with the replica down = %v, want the primary's 2", n)
	}
}
