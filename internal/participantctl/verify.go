package participantctl

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

// verifyDrawHelp heads verify-draw's --help.
const verifyDrawHelp = `Usage: participantctl verify-draw [flags] (RECORD_FILE | - | SERVICE_URL)

Checks a drawn record: the commitment, the timing, the draw seed, and the
entrant index of every winner and replacement. Who stands at those indices
is checked against the entrant list (--entrants) or, when the source is the
service, against the inclusion proofs it fetches for every winner and
replacement by default. A record file alone cannot show who stands there:
the output then says NOT FULLY VERIFIED, names the user ids it could not
check, and exits 4.

A telegive-draw-v1 record is verified as before; its winners follow from a
seed the organiser chose, and the output says so. A telegive-draw-v2
record is checked end to end: the beacon's BLS signature against the
pinned drand chain (quicknet unless --chain-info names another), the beacon
round being the first after the freeze, the witnesses' cosignatures of the
freeze made at least 3 s before that round and their quorum, the draw seed,
every winner and replacement with their tickets (by inclusion proofs from
the service), and the giveaway's log entries, byte for byte against the
record and included under the log's signed checkpoint. Pin the log key and
the witness keys (--log-key, --witness-key, --quorum) from a source other
than the service: without them the keys are taken from the service's
/log/key, the output says they were not pinned, and it exits 4. A record
with freeze_attested false exits 4 too: its freeze time rests on the
operator's word. Each failed check is named: FAILED <check>: <reason>.

The giveaway's rules are checked against the record's rules_sha256 (the
SHA-256 of the rules' RFC 8785 JSON) and shown in words: fetched from the
service, or read with --rules from a file holding the answer of GET
/api/participants/{giveaway_id}/rules. Rules that hash otherwise fail the
draw; rules that could not be had leave it NOT FULLY VERIFIED (exit 4). A
record whose rules_sha256 is null committed to none: the service's
defaults applied. The record's recheck, the service's statement of what
Telegram answered when it checked the winners against the rules at the
draw, is printed as such: no proof can show those answers, so it never
makes a draw verified, and fails it only where it contradicts the record
(a check of someone never drawn there, a failed winner not disqualified
for that reason, a complete re-check with winners left unchecked).

Exit codes: 0 verified (the output lists what it did not check), 1 a check
failed or the draw is not drawn yet, 2 usage error, 3 input unreadable or
unreachable, 4 not fully verified (every check that ran passed).

Flags:
`

// verifyDraw checks a draw record: the commitment, the seed, the winners'
// and replacements' indices and, given the entrant list or inclusion
// proofs, the user ids at those indices. It names the check that failed,
// and those it could not make.
func verifyDraw(ctx context.Context, env *Env, args []string) int {
	fs := newFlags(env, "verify-draw", "")
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, verifyDrawHelp)
		fs.PrintDefaults()
	}
	giveaway := fs.Int64("giveaway", 0, "giveaway id to fetch when the source is the service's base URL")
	entrants := fs.String("entrants", "", `entrant list to recompute the root and check every winner's user id against: a file with one user id per line ("user_id tickets" for v2), or "server" to fetch it`)
	rulesFile := fs.String("rules", "", "v2: a file with the giveaway's rules (the answer of GET /api/participants/{giveaway_id}/rules) to check against the record's rules_sha256, instead of fetching them")
	var proofs int64List
	fs.Var(&proofs, "proof", "user id whose inclusion proof to fetch and check as well as the winners' (repeatable, or comma-separated)")
	token, err := tokenFlag(fs, env)
	if err != nil {
		fmt.Fprintln(env.Stderr, "verify-draw:", err)
		return ExitUnusable
	}
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the service")
	keys := addTrustFlags(fs, "log-key", "the draw log's note verifier key, pinned from a source other than the service (v2)")
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
		if rec.Status == draw.StatusFrozen {
			fmt.Fprintf(env.Stdout, "its entrants were frozen at %s; the draw waits for beacon round %d\n", rec.FrozenAt.Format(time.RFC3339), rec.BeaconRound)
		}
		return ExitFailed
	}
	if rec.Version == draw.VersionV2 {
		return verifyDrawV2(ctx, env, v2Source{c: c, rec: rec, entrants: *entrants, proofs: proofs, trust: keys, rulesFile: *rulesFile})
	}

	checks := []string{"commitment", "timing", "draw_seed", "winners (entrant indices)", "replacements (entrant indices)"}
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
	var notEntered []draw.Claim
	if c != nil {
		var err error
		if opts.Proofs, notEntered, err = fetchClaimProofs(ctx, c, rec, opts); err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw:", err)
			return ExitUnusable
		}
	}

	if err := draw.Verify(rec, opts); err != nil {
		var ve *draw.VerifyError
		if errors.As(err, &ve) {
			fmt.Fprintf(env.Stdout, "FAILED %s: %s\n", ve.Check, oneLine(ve.Reason))
		} else {
			fmt.Fprintf(env.Stdout, "FAILED: %s\n", oneLine(err.Error()))
		}
		return ExitFailed
	}
	if len(notEntered) > 0 {
		fmt.Fprintf(env.Stdout, "FAILED proof: %s: the service has no inclusion proof of that user, who was not entered in the draw\n", notEntered[0])
		return ExitFailed
	}
	return report(env, rec, opts, checks)
}

// fetchClaimProofs adds to opts.Proofs an inclusion proof for every user id
// rec names at an entrant index: the current winners' in one call, then one
// by one those disqualified since. It also returns the claims whose user the
// service says was never entered, which Verify cannot see for itself.
func fetchClaimProofs(ctx context.Context, c *client.Client, rec draw.Record, opts draw.VerifyOptions) ([]draw.Proof, []draw.Claim, error) {
	winners, err := c.WinnerProofs(ctx, rec.GiveawayID)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch the winners' proofs: %w", err)
	}
	opts.Proofs = append(opts.Proofs, winners...)
	var notEntered []draw.Claim
	asked := make(map[int64]bool)
	for _, cl := range draw.Unchecked(rec, draw.VerifyOptions{Proofs: opts.Proofs}) {
		if asked[cl.UserID] {
			continue
		}
		asked[cl.UserID] = true
		p, err := c.Proof(ctx, rec.GiveawayID, cl.UserID)
		switch {
		case client.IsCode(err, client.CodeParticipantNotFound):
			notEntered = append(notEntered, cl)
		case err != nil:
			return nil, nil, fmt.Errorf("fetch the proof of user %d: %w", cl.UserID, err)
		default:
			opts.Proofs = append(opts.Proofs, p)
		}
	}
	return opts.Proofs, notEntered, nil
}

// report prints the verdict on a record that passed draw.Verify: the checks
// made, those that could not be made, and the winners. It returns
// ExitPartial when the winners' user ids went unchecked.
func report(env *Env, rec draw.Record, opts draw.VerifyOptions, checks []string) int {
	claims := rec.Claims()
	unchecked := draw.Unchecked(rec, opts)
	switch {
	case opts.Entrants != nil:
		checks = append(checks, fmt.Sprintf("winner identities (%d user ids, against the entrant list)", len(claims)))
	case len(unchecked) == 0:
		checks = append(checks, fmt.Sprintf("winner identities (%d user ids, each by its inclusion proof from the service)", len(claims)))
	}
	summary := fmt.Sprintf("giveaway %d, %d entrants, %d winners, %d redraw round(s)",
		rec.GiveawayID, rec.EntrantsCount, len(rec.CurrentWinners()), len(rec.Replacements))
	if len(unchecked) > 0 {
		fmt.Fprintf(env.Stdout, "NOT FULLY VERIFIED: %s; the winners' user ids could not be checked\n", summary)
	} else {
		fmt.Fprintf(env.Stdout, "verified: %s\n", summary)
	}
	fmt.Fprintf(env.Stdout, "  trust  %s: the winners follow from the organiser's seed, which the organiser held from the first entry on and could have tried against any entrant list; this record trusts the organiser's seed\n", rec.Version)
	for _, ch := range checks {
		fmt.Fprintf(env.Stdout, "  ok  %s\n", ch)
	}
	if len(unchecked) > 0 {
		fmt.Fprintf(env.Stdout, "  not checked  winner identities: nothing here ties these %d user ids to the entrant indices the seed picked;\n", len(unchecked))
		fmt.Fprintln(env.Stdout, "               give --entrants FILE, or verify against the service URL, which fetches their inclusion proofs")
		for _, cl := range unchecked {
			fmt.Fprintf(env.Stdout, "               %s\n", cl)
		}
	}
	if opts.Entrants == nil {
		fmt.Fprintln(env.Stdout, "  not checked  entrants: the root was not recomputed from the list, so that it holds each entrant once is taken on trust (give --entrants)")
	}
	unsure := make(map[uint64]bool, len(unchecked))
	for _, cl := range unchecked {
		unsure[cl.Index] = true
	}
	for _, w := range rec.CurrentWinners() {
		note := ""
		if unsure[w.Index] {
			note = ", user id not checked"
		}
		fmt.Fprintf(env.Stdout, "  winner %d: user %d (entrant index %d%s)\n", w.Position, w.UserID, w.Index, note)
	}
	if len(unchecked) > 0 {
		return ExitPartial
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
