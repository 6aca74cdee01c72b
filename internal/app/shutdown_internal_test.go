package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/telegive/participant-service/internal/config"
)

// probingExporter records spans and, when the tracer provider shuts it
// down, whether the database still answered.
type probingExporter struct {
	mu sync.Mutex
	// probe asks the database for an answer.
	probe func(context.Context) error
	spans int
	// shutDown is set once Shutdown has run; probeErr is what the probe
	// said then.
	shutDown bool
	probeErr error
}

func (e *probingExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spans += len(spans)
	return nil
}

func (e *probingExporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	probe := e.probe
	e.mu.Unlock()
	err := probe(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shutDown, e.probeErr = true, err
	return nil
}

// TestTracesFlushBeforeTheDatabaseCloses: shutdown exports the last spans
// while the database still answers, and closes it after (podinfo's order:
// telemetry first, then Redis and the database), so the spans of the last
// requests and their queries are not lost to a database that is closing.
func TestTracesFlushBeforeTheDatabaseCloses(t *testing.T) {
	cfg, err := config.Load([]string{
		"SQLITE_PATH=" + filepath.Join(t.TempDir(), "participant.db"),
		"SHUTDOWN_DELAY=0", "ENABLE_METRICS=false", "LISTEN_HOST=127.0.0.1", "SERVICE_PORT=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.ServicePort = 0
	exp := &probingExporter{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), WithSpanExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	exp.mu.Lock()
	exp.probe = a.store.Ping
	exp.mu.Unlock()
	if err := a.store.Ping(ctx); err != nil {
		t.Fatalf("the database does not answer before shutdown: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx) }()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the service did not stop")
	}

	exp.mu.Lock()
	defer exp.mu.Unlock()
	if exp.spans == 0 {
		t.Fatal("no span was exported: the test exporter is not in use")
	}
	if !exp.shutDown {
		t.Fatal("shutdown did not flush and stop the span exporter")
	}
	if exp.probeErr != nil {
		t.Fatalf("the database was closed before the spans were flushed: %v", exp.probeErr)
	}
	if err := a.store.Ping(context.Background()); err == nil {
		t.Fatal("the database still answers after shutdown")
	}
}
