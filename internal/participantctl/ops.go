package participantctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/pkg/client"
)

// migrate applies the schema to the database the service's environment
// names (DATABASE_URL, or SQLITE_PATH for the embedded database).
func migrate(ctx context.Context, env *Env, args []string) int {
	db, err := config.LoadDatabase(env.Environ)
	if err != nil {
		fmt.Fprintln(env.Stderr, "migrate:", err)
		return ExitUnusable
	}
	fs := newFlags(env, "migrate", "[flags]")
	databaseURL := fs.String("database-url", db.PostgresURL, "Postgres URL (default $DATABASE_URL; empty selects SQLite)")
	sqlitePath := fs.String("sqlite-path", db.SQLitePath, "embedded database file when no Postgres URL is given")
	dryRun := fs.Bool("dry-run", false, "list the pending migrations without applying them")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return ExitUsage
	}
	// Not the service's pool and read timeout: migrating needs one
	// connection or two, and may take longer than any query the service
	// makes.
	st, err := store.Open(ctx, store.Options{PostgresURL: *databaseURL, SQLitePath: *sqlitePath, PoolSize: 2, ReadTimeout: time.Hour})
	if err != nil {
		fmt.Fprintln(env.Stderr, "migrate:", err)
		return ExitUnusable
	}
	defer st.Close()
	if *dryRun {
		sc, err := st.Schema(ctx)
		if err != nil {
			fmt.Fprintln(env.Stdout, "no migrations applied yet (the schema is empty)")
			return ExitFailed
		}
		if sc.Current {
			fmt.Fprintln(env.Stdout, "the schema is current")
			return ExitOK
		}
		fmt.Fprintln(env.Stdout, "pending:", strings.Join(sc.Pending, ", "))
		return ExitFailed
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		fmt.Fprintln(env.Stderr, "migrate:", err)
		return ExitFailed
	}
	if len(applied) == 0 {
		fmt.Fprintln(env.Stdout, "the schema is current; nothing to apply")
		return ExitOK
	}
	fmt.Fprintln(env.Stdout, "applied:", strings.Join(applied, ", "))
	return ExitOK
}

// export streams a giveaway's participants from the service to stdout or a
// file.
func export(ctx context.Context, env *Env, args []string) int {
	fs := newFlags(env, "export", "[flags] SERVICE_URL")
	giveaway := fs.Int64("giveaway", 0, "giveaway id (required)")
	format := fs.String("format", "ndjson", "ndjson or csv")
	output := fs.String("output", "-", `file to write, or "-" for standard output`)
	token, err := tokenFlag(fs, env)
	if err != nil {
		fmt.Fprintln(env.Stderr, "export:", err)
		return ExitUnusable
	}
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || *giveaway < 1 || (*format != "ndjson" && *format != "csv") {
		fs.Usage()
		return ExitUsage
	}
	c, err := client.New(fs.Arg(0), client.WithServiceToken(*token), client.WithServiceName("participantctl"), client.WithTimeout(0))
	if err != nil {
		fmt.Fprintln(env.Stderr, "export:", err)
		return ExitUsage
	}
	var w io.Writer = env.Stdout
	var f *os.File
	if *output != "-" {
		// Write to a temporary file and rename it at the end, so a cut
		// export never leaves a complete-looking file behind.
		if f, err = os.CreateTemp(dirOf(*output), ".export-*"); err != nil {
			fmt.Fprintln(env.Stderr, "export:", err)
			return ExitUnusable
		}
		defer os.Remove(f.Name())
		w = f
	}
	n, err := c.ExportTo(ctx, *giveaway, *format, w)
	if err != nil {
		fmt.Fprintln(env.Stderr, "export:", err)
		if f != nil {
			f.Close()
		}
		return ExitUnusable
	}
	if f != nil {
		if err := errors.Join(f.Close(), os.Rename(f.Name(), *output)); err != nil {
			fmt.Fprintln(env.Stderr, "export:", err)
			return ExitUnusable
		}
		fmt.Fprintf(env.Stderr, "wrote %d bytes to %s\n", n, *output)
	}
	return ExitOK
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// status prints the service's health and, for a giveaway, its draw state
// and counts. It exits 0 when healthy, 1 when degraded or unhealthy.
func status(ctx context.Context, env *Env, args []string) int {
	fs := newFlags(env, "status", "[flags] SERVICE_URL")
	giveaway := fs.Int64("giveaway", 0, "also show this giveaway's draw and counts")
	token, err := tokenFlag(fs, env)
	if err != nil {
		fmt.Fprintln(env.Stderr, "status:", err)
		return ExitUnusable
	}
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return ExitUsage
	}
	c, err := client.New(fs.Arg(0), client.WithServiceToken(*token), client.WithServiceName("participantctl"), client.WithTimeout(10*time.Second))
	if err != nil {
		fmt.Fprintln(env.Stderr, "status:", err)
		return ExitUsage
	}
	h, err := c.Health(ctx)
	var apiErr *client.Error
	if err != nil && !(errors.As(err, &apiErr) && apiErr.Status == 503) {
		fmt.Fprintln(env.Stderr, "status:", err)
		return ExitUnusable
	}
	if err != nil {
		h.Status = "unhealthy"
	}
	fmt.Fprintf(env.Stdout, "service %s %s: %s\n", h.Service, h.Version, h.Status)
	names := make([]string, 0, len(h.Checks))
	for n := range h.Checks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ch := h.Checks[n]
		line := fmt.Sprintf("  %-18s %-9s %6.1f ms", n, ch.Status, ch.LatencyMS)
		if ch.Error != "" {
			line += "  " + ch.Error
		}
		fmt.Fprintln(env.Stdout, line)
	}
	code := ExitOK
	if h.Status != "healthy" {
		code = ExitFailed
	}
	if *giveaway > 0 {
		if c := giveawayStatus(ctx, env, c, *giveaway); c != ExitOK {
			return c
		}
	}
	return code
}

func giveawayStatus(ctx context.Context, env *Env, c *client.Client, id int64) int {
	rec, err := c.Draw(ctx, id)
	switch {
	case client.IsCode(err, client.CodeDrawNotFound):
		fmt.Fprintf(env.Stdout, "giveaway %d: no draw commitment yet\n", id)
	case err != nil:
		fmt.Fprintln(env.Stderr, "status:", err)
		return ExitUnusable
	case rec.Status == "drawn":
		fmt.Fprintf(env.Stdout, "giveaway %d: drawn at %s, %d entrants, %d winners, commitment %s\n",
			id, rec.DrawnAt.Format(time.RFC3339), rec.EntrantsCount, len(rec.CurrentWinners()), rec.Commitment)
	default:
		fmt.Fprintf(env.Stdout, "giveaway %d: open, commitment %s published at %s\n", id, rec.Commitment, rec.CommittedAt.Format(time.RFC3339))
	}
	if st, err := c.Stats(ctx, id); err == nil {
		fmt.Fprintf(env.Stdout, "  participants %d, winners %d, messages delivered %d\n", st.TotalParticipants, st.Winners, st.MessagesDelivered)
	} else if !client.IsCode(err, client.CodeAuthRequired) && !client.IsCode(err, client.CodeForbidden) {
		fmt.Fprintln(env.Stderr, "status:", err)
		return ExitUnusable
	}
	return ExitOK
}
