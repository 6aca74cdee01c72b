package testenv

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/telegive/participant-service/internal/app"
	"github.com/telegive/participant-service/internal/config"
)

// Service is the real participant service running in the test process.
type Service struct {
	*app.App
	// URL is the API's base URL.
	URL  string
	stop func() error
}

// Stop shuts the service down as SIGTERM does, waiting for the graceful
// shutdown to finish. It is safe to call more than once.
func (s *Service) Stop() error { return s.stop() }

// StartService runs the service on free local ports with the environment
// given (KEY=value), stopping it when the test ends. Without DATABASE_URL
// it uses a fresh SQLite file. New giveaways draw under telegive-draw-v1
// unless env sets DRAW_PROTOCOL: a test that wants v2 names its own
// stand-in relays, so no test ever waits on the public beacon network.
func StartService(tb testing.TB, env ...string) *Service {
	tb.Helper()
	return StartServiceWithLogs(tb, io.Discard, env...)
}

// StartServiceWithLogs is StartService with the logs written to w.
func StartServiceWithLogs(tb testing.TB, w io.Writer, env ...string) *Service {
	tb.Helper()
	return StartServiceWith(tb, w, nil, env...)
}

// StartServiceWith is StartService with the logs written to w, through the
// production logger (JSON with trace ids unless LOG_FORMAT says text), and
// the app's options.
func StartServiceWith(tb testing.TB, w io.Writer, opts []app.Option, env ...string) *Service {
	tb.Helper()
	defaults := []string{"SQLITE_PATH=" + SQLitePath(tb), "SHUTDOWN_DELAY=0", "DRAW_PROTOCOL=v1"}
	cfg, err := config.Load(append(defaults, env...))
	if err != nil {
		tb.Fatalf("configuration: %v", err)
	}
	cfg.ServicePort, cfg.MetricsPort, cfg.ListenHost = 0, 0, "127.0.0.1"
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, w), opts...)
	if err != nil {
		cancel()
		tb.Fatalf("start the service: %v", err)
	}
	if err := a.Listen(); err != nil {
		cancel()
		tb.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	stop := sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Logf("service stopped with: %v", err)
		}
	})
	return &Service{App: a, URL: "http://" + a.Addr(), stop: stop}
}
