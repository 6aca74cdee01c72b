package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/telemetry"
	"github.com/telegive/participant-service/internal/version"
)

const usage = `participant-service: the Telegive participant service.

Usage:
  participant-service [serve]   run the API server (the default)
  participant-service migrate   apply pending database migrations and exit
  participant-service version   print the version
  participant-service help      print this help

Configuration comes from environment variables; see the README. With none
set the service runs on an embedded SQLite database in ./data.
`

// ErrUsage is returned for an unknown command.
var ErrUsage = errors.New("usage")

// Run runs the command in args (os.Args) with the environment environ until
// ctx is cancelled.
func Run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 1 {
		cmd = args[1]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version", "--version":
		fmt.Fprintln(stdout, version.String())
		return nil
	case "serve", "migrate":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: unknown command %q", ErrUsage, cmd)
	}
	cfg, err := config.Load(environ)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logs := telemetry.NewLogBuffer(stdout, 100*time.Millisecond)
	defer logs.Close()
	log := NewLogger(cfg, logs)
	if cmd == "migrate" {
		cfg.Database.MigrateOnStart = true
		st, err := openStore(ctx, cfg, log, nil)
		if err != nil {
			return err
		}
		return st.Close()
	}
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Serve(ctx)
}
