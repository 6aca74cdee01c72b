package app

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/telemetry"
	"github.com/telegive/participant-service/internal/version"
)

const usage = `participant-service: the Telegive participant service.

Usage:
  participant-service [serve]   run the API server (the default)
  participant-service migrate   apply pending database migrations and exit
  participant-service log-keygen [--origin ORIGIN]
                                print a new draw log signing key (for LOG_SIGNING_KEY)
                                on the first line and its verifier key (for verifiers
                                to pin) on the second; ORIGIN defaults to
                                telegive.org/participant-service/draw-log
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
	case "log-keygen":
		return logKeygen(args[2:], stdout, stderr)
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
		// Migrations are the primary's alone: no replica.
		st, err := openStore(ctx, cfg, log, nil, store.ReplicaOptions{})
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

// logKeygen prints a fresh Ed25519 note key pair for the draw log: the
// signer key, then the verifier key.
func logKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("log-keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	origin := fs.String("origin", config.DefaultLogOrigin, "the log's origin (LOG_ORIGIN), which names the key")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: log-keygen takes no arguments, only --origin", ErrUsage)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, *origin)
	if err == nil {
		// GenerateKey takes any name; a key that does not parse back has
		// one that notes cannot carry.
		_, err = note.NewSigner(skey)
	}
	if err != nil {
		return fmt.Errorf("%w: --origin %q is not a log origin: want a non-empty name without spaces or +", ErrUsage, *origin)
	}
	_, err = fmt.Fprintf(stdout, "%s\n%s\n", skey, vkey)
	return err
}
