package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/draw"
)

type int64List []int64

func (l *int64List) String() string { return fmt.Sprint(*l) }

func (l *int64List) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a user id", part)
		}
		*l = append(*l, n)
	}
	return nil
}

// verifyDraw checks a draw record offline: the commitment, the seed, the
// winners and replacements, and optionally the entrant list and inclusion
// proofs. It names the check that failed.
func verifyDraw(ctx context.Context, env *Env, args []string) int {
	fs := newFlags(env, "verify-draw", "[flags] (RECORD_FILE | - | SERVICE_URL)")
	giveaway := fs.Int64("giveaway", 0, "giveaway id to fetch when the source is the service's base URL")
	entrants := fs.String("entrants", "", `entrant list to recompute the root from: a file with one user id per line, or "server" to fetch it`)
	var proofs int64List
	fs.Var(&proofs, "proof", "user id whose inclusion proof to fetch and check (repeatable, or comma-separated)")
	token := fs.String("token", env.Getenv("PARTICIPANT_SERVICE_TOKEN"), "X-Service-Token to send (default $PARTICIPANT_SERVICE_TOKEN)")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the service")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return ExitUsage
	}
	source := fs.Arg(0)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var (
		rec  draw.Record
		opts draw.VerifyOptions
		c    *client.Client
	)
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		if *giveaway < 1 {
			fmt.Fprintln(env.Stderr, "verify-draw: --giveaway is required with a service URL")
			return ExitUsage
		}
		var err error
		if c, err = client.New(source, client.WithServiceToken(*token), client.WithServiceName("participantctl")); err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw:", err)
			return ExitUsage
		}
		if rec, err = c.Draw(ctx, *giveaway); err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw: fetch the record:", err)
			return ExitUnusable
		}
	} else {
		if len(proofs) > 0 || *entrants == "server" {
			fmt.Fprintln(env.Stderr, "verify-draw: --proof and --entrants=server need a service URL as the source")
			return ExitUsage
		}
		var err error
		if rec, err = readRecord(env, source); err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw:", err)
			return ExitUnusable
		}
	}
	if rec.Status != draw.StatusDrawn {
		fmt.Fprintf(env.Stdout, "giveaway %d is not drawn yet: commitment %s published at %s\n",
			rec.GiveawayID, rec.Commitment, rec.CommittedAt.Format(time.RFC3339))
		return ExitFailed
	}

	checks := []string{"commitment", "timing", "draw_seed", "winners", "replacements"}
	switch *entrants {
	case "":
	case "server":
		ids, err := c.Entrants(ctx, rec.GiveawayID)
		if err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw: fetch the entrants:", err)
			return ExitUnusable
		}
		opts.Entrants = ids
	default:
		f, err := os.Open(*entrants)
		if err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw:", err)
			return ExitUnusable
		}
		ids, err := client.ReadEntrants(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw:", err)
			return ExitUnusable
		}
		opts.Entrants = ids
	}
	if opts.Entrants != nil {
		checks = append(checks, fmt.Sprintf("entrants (root of %d ids recomputed)", len(opts.Entrants)))
	}
	for _, uid := range proofs {
		p, err := c.Proof(ctx, rec.GiveawayID, uid)
		if err != nil {
			fmt.Fprintf(env.Stderr, "verify-draw: fetch the proof of user %d: %v\n", uid, err)
			return ExitUnusable
		}
		opts.Proofs = append(opts.Proofs, p)
		checks = append(checks, fmt.Sprintf("proof of user %d (leaf %d, winner: %v)", uid, p.LeafIndex, p.IsWinner))
	}

	if err := draw.Verify(rec, opts); err != nil {
		var ve *draw.VerifyError
		if errors.As(err, &ve) {
			fmt.Fprintf(env.Stdout, "FAILED %s: %s\n", ve.Check, ve.Reason)
		} else {
			fmt.Fprintf(env.Stdout, "FAILED: %v\n", err)
		}
		return ExitFailed
	}
	fmt.Fprintf(env.Stdout, "verified: giveaway %d, %d entrants, %d winners, %d redraw round(s)\n",
		rec.GiveawayID, rec.EntrantsCount, len(rec.CurrentWinners()), len(rec.Replacements))
	for _, ch := range checks {
		fmt.Fprintf(env.Stdout, "  ok  %s\n", ch)
	}
	for _, w := range rec.CurrentWinners() {
		fmt.Fprintf(env.Stdout, "  winner %d: user %d (entrant index %d)\n", w.Position, w.UserID, w.Index)
	}
	return ExitOK
}

// readRecord reads a record from a file or stdin ("-"). It accepts the
// record itself or an API answer that wraps it in "draw".
func readRecord(env *Env, path string) (draw.Record, error) {
	var r io.Reader = env.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return draw.Record{}, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return draw.Record{}, err
	}
	var wrapped struct {
		Draw *json.RawMessage `json:"draw"`
	}
	if err := json.Unmarshal(data, &wrapped); err != nil {
		return draw.Record{}, fmt.Errorf("%s is not JSON: %w", path, err)
	}
	if wrapped.Draw != nil {
		data = *wrapped.Draw
	}
	var rec draw.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return draw.Record{}, fmt.Errorf("%s is not a draw record: %w", path, err)
	}
	return rec, nil
}
