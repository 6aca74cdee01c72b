package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/app"
	"github.com/telegive/participant-service/internal/testenv"
)

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestGracefulShutdown: on SIGTERM (context cancel) readiness drops first,
// new requests are still served during the delay, and a request in flight
// when shutdown began completes.
func TestGracefulShutdown(t *testing.T) {
	svc := testenv.StartService(t, "SHUTDOWN_DELAY=1", "SHUTDOWN_TIMEOUT=10")
	base := svc.URL
	if code, _ := get(t, base+"/health/ready"); code != http.StatusOK {
		t.Fatalf("ready before shutdown: %d", code)
	}

	// A request whose body is still arriving when shutdown begins.
	pr, pw := io.Pipe()
	type result struct {
		status int
		body   string
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Post(base+"/api/participants/register", "application/json", pr)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		inflight <- result{status: resp.StatusCode, body: string(b)}
	}()
	_, _ = pw.Write([]byte(`{"giveaway_id": 1,`))
	time.Sleep(100 * time.Millisecond)

	stopped := make(chan error, 1)
	go func() { stopped <- svc.Stop() }()
	deadline := time.Now().Add(900 * time.Millisecond)
	sawNotReady := false
	for time.Now().Before(deadline) {
		if code, body := get(t, base+"/health/ready"); code == http.StatusServiceUnavailable && body["status"] == "shutting_down" {
			sawNotReady = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawNotReady {
		t.Fatal("readiness did not drop to 503 while draining")
	}
	if code, _ := get(t, base+"/health/live"); code != http.StatusOK {
		t.Fatalf("new requests must still be served during the delay, got %d", code)
	}
	_, _ = pw.Write([]byte(` "user_id": 2}`))
	pw.Close()
	r := <-inflight
	if r.err != nil || r.status != http.StatusOK || !strings.Contains(r.body, "captcha_question") {
		t.Fatalf("in-flight request: %d %q %v", r.status, r.body, r.err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	if code, _ := get(t, base+"/health/live"); code != 0 {
		t.Fatalf("server still answering after shutdown: %d", code)
	}
}

// TestRunReportsBadConfiguration: a bad value stops start-up with a message
// naming the variable.
func TestRunReportsBadConfiguration(t *testing.T) {
	var out, errOut bytes.Buffer
	err := app.Run(context.Background(), []string{"participant-service"}, []string{"DATABASE_POOL_SIZE=lots"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_POOL_SIZE") {
		t.Fatalf("err = %v", err)
	}
	if err := app.Run(context.Background(), []string{"participant-service", "frobnicate"}, nil, &out, &errOut); err == nil {
		t.Fatal("an unknown command was accepted")
	}
}

// TestMigrateCommand applies the schema and exits; the server then starts
// without migrating and is ready.
func TestMigrateCommand(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			env := []string{"SQLITE_PATH=" + testenv.SQLitePath(t)}
			if backend == "postgres" {
				env = append(env, "DATABASE_URL="+testenv.PostgresSchema(t))
			}
			var out bytes.Buffer
			if err := app.Run(context.Background(), []string{"participant-service", "migrate"}, env, &out, &out); err != nil {
				t.Fatalf("migrate: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "initial_schema") {
				t.Fatalf("migrate did not report what it applied: %s", out.String())
			}
			svc := testenv.StartService(t, append(env, "MIGRATE_ON_START=false")...)
			if code, body := get(t, svc.URL+"/health/ready"); code != http.StatusOK {
				t.Fatalf("ready after migrate: %d %v", code, body)
			}
		})
	}
}

// TestNotReadyUntilMigrated: with MIGRATE_ON_START=false and no schema the
// service starts but is not ready, and says why.
func TestNotReadyUntilMigrated(t *testing.T) {
	svc := testenv.StartService(t, "MIGRATE_ON_START=false")
	code, body := get(t, svc.URL+"/health/ready")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("ready without a schema: %d %v", code, body)
	}
}

// TestStartupLogsListEmptyListsAsArrays: the start-up lines that list
// things (migrations applied, callers with tokens) say [] when there are
// none, never null, so a log query for the field finds an array.
func TestStartupLogsListEmptyListsAsArrays(t *testing.T) {
	path := testenv.SQLitePath(t)
	var migrated bytes.Buffer
	if err := app.Run(context.Background(), []string{"participant-service", "migrate"}, []string{"SQLITE_PATH=" + path}, &migrated, &migrated); err != nil {
		t.Fatalf("migrate: %v\n%s", err, migrated.String())
	}
	// The schema is current and no token is set: both lists are empty.
	var logs testenv.Logs
	svc := testenv.StartServiceWithLogs(t, &logs, "SQLITE_PATH="+path, "MIGRATE_ON_START=true")
	if err := svc.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	lists := map[string]string{"database migrated": "applied", "authentication": "callers"}
	found := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		for field, v := range rec {
			if string(v) == "null" {
				t.Errorf("%s logs %s as null: %s", rec["msg"], field, line)
			}
		}
		var msg string
		_ = json.Unmarshal(rec["msg"], &msg)
		if field, ok := lists[msg]; ok {
			found[msg] = true
			if got := string(rec[field]); got != "[]" {
				t.Errorf("%q: %s = %s, want []", msg, field, got)
			}
		}
	}
	for msg := range lists {
		if !found[msg] {
			t.Errorf("no %q line in the start-up logs:\n%s", msg, logs.String())
		}
	}
}
