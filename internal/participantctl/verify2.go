package participantctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// v2Source is what verify-draw gathered for a v2 record.
type v2Source struct {
	// c is nil when the record came from a file.
	c        *client.Client
	rec      draw.Record
	entrants string
	proofs   []int64
	trust    *trustFlags
	// rulesFile holds the giveaway's rules; "" to fetch them.
	rulesFile string
}

// failure is a failed check, printed as FAILED <check>: <reason>.
type failure struct{ check, reason string }

func failedf(check, format string, args ...any) *failure {
	return &failure{check, fmt.Sprintf(format, args...)}
}

// v2Verdict collects what a v2 verification found beyond draw.Report.
type v2Verdict struct {
	chain pinnedChain
	trust trust
	// checks are the service-side checks passed, after draw.Verify's.
	checks []string
	// notes are checks that could not be made; each makes the draw not
	// fully verified.
	notes []string
	rules rulesVerdict
	// recheck is the service's statement of the winners' re-check.
	recheck []string
}

// verifyDrawV2 verifies a v2 record end to end and prints the verdict.
func verifyDrawV2(ctx context.Context, env *Env, in v2Source) int {
	rec := in.rec
	var v v2Verdict
	var err error
	if v.chain, err = in.trust.loadChain(); err != nil {
		fmt.Fprintln(env.Stderr, "verify-draw:", err)
		return ExitUnusable
	}
	if v.trust, err = in.trust.pinned(); err != nil {
		fmt.Fprintln(env.Stderr, "verify-draw:", err)
		return ExitUsage
	}
	c := in.c
	if c != nil {
		if err := v.trust.fillFromService(ctx, c, attested(rec)); err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw:", err)
			return ExitUnusable
		}
	}
	opts := draw.VerifyOptions{Chain: v.chain.chain, LogKey: v.trust.logKey, Witnesses: v.trust.witnesses, Quorum: v.trust.quorum}

	switch in.entrants {
	case "":
	case "server":
		if opts.Entrants, opts.Tickets, err = c.EntrantTickets(ctx, rec.GiveawayID); err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw: fetch the entrants:", err)
			return ExitUnusable
		}
	default:
		f, err := os.Open(in.entrants)
		if err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw:", err)
			return ExitUnusable
		}
		opts.Entrants, opts.Tickets, err = draw.ReadEntrantList(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(env.Stderr, "verify-draw: %s: %v\n", in.entrants, err)
			return ExitUnusable
		}
	}
	for _, uid := range in.proofs {
		p, err := c.Proof(ctx, rec.GiveawayID, uid)
		if err != nil {
			fmt.Fprintf(env.Stderr, "verify-draw: fetch the proof of user %d: %v\n", uid, err)
			return ExitUnusable
		}
		opts.Proofs = append(opts.Proofs, p)
	}
	var notEntered []draw.Claim
	var missing []draw.LogRef
	if c != nil {
		if opts.Proofs, notEntered, err = fetchClaimProofs(ctx, c, rec, opts); err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw:", err)
			return ExitUnusable
		}
		opts.LogEntries = make(map[uint64][]byte, len(rec.Log))
		for _, ref := range rec.Log {
			data, err := fetchEntry(ctx, c, ref.Index)
			switch {
			case errors.Is(err, errEntryMissing):
				missing = append(missing, ref)
			case err != nil:
				fmt.Fprintf(env.Stderr, "verify-draw: fetch log entry %d: %v\n", ref.Index, err)
				return ExitUnusable
			default:
				opts.LogEntries[ref.Index] = data
			}
		}
	}

	rep, err := draw.VerifyReport(rec, opts)
	if err != nil {
		return printFailure(env, err)
	}
	if len(notEntered) > 0 {
		fmt.Fprintf(env.Stdout, "FAILED proof: %s: the service has no inclusion proof of that user, who was not entered in the draw\n", notEntered[0])
		return ExitFailed
	}
	if len(missing) > 0 {
		fmt.Fprintf(env.Stdout, "FAILED log: the record names log entry %d (%s), which the log does not hold\n", missing[0].Index, missing[0].Type)
		return ExitFailed
	}
	if c != nil {
		f, err := v.checkLogV2(ctx, c, rec, opts.LogEntries)
		if err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw:", err)
			return ExitUnusable
		}
		if f != nil {
			fmt.Fprintf(env.Stdout, "FAILED %s: %s\n", f.check, oneLine(f.reason))
			return ExitFailed
		}
	} else {
		v.notes = append(v.notes, "log_inclusion: a record file holds no log entries; verify against the service URL to fetch them and check them under the log's signed checkpoint")
	}

	var served *servedRules
	var fetchErr error
	switch {
	case in.rulesFile != "":
		if served, err = readRulesFile(in.rulesFile); err != nil {
			fmt.Fprintln(env.Stderr, "verify-draw:", err)
			return ExitUnusable
		}
	case c != nil:
		served, fetchErr = fetchRules(ctx, c, rec.GiveawayID)
	}
	var f *failure
	if v.rules, f = checkRules(rec, served, fetchErr); f == nil {
		v.recheck, f = checkRecheck(rec, v.rules.set)
	}
	if f != nil {
		fmt.Fprintf(env.Stdout, "FAILED %s: %s\n", f.check, oneLine(f.reason))
		return ExitFailed
	}
	if v.rules.ok != "" {
		v.checks = append(v.checks, v.rules.ok)
	}
	v.notes = append(v.notes, v.rules.notes...)
	return reportV2(env, rec, opts, rep, v)
}

// printFailure prints a failed draw.Verify and returns ExitFailed.
func printFailure(env *Env, err error) int {
	var ve *draw.VerifyError
	if errors.As(err, &ve) {
		fmt.Fprintf(env.Stdout, "FAILED %s: %s\n", ve.Check, oneLine(ve.Reason))
	} else {
		fmt.Fprintf(env.Stdout, "FAILED: %s\n", oneLine(err.Error()))
	}
	return ExitFailed
}

// attested reports whether the record holds any attestation, whose check
// needs the witnesses' keys.
func attested(r draw.Record) bool {
	if r.FreezeAttestation != nil {
		return true
	}
	for _, rd := range r.Replacements {
		if rd.RequestAttestation != nil {
			return true
		}
	}
	return false
}

// checkLogV2 checks the giveaway's log entries against the log itself:
// the latest checkpoint is signed by the log key (and cosigned by the
// witnesses), each entry is included under it, and every attesting
// checkpoint is a prefix of it.
func (v *v2Verdict) checkLogV2(ctx context.Context, c *client.Client, rec draw.Record, entries map[uint64][]byte) (*failure, error) {
	noteText, err := c.LogCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch the log's checkpoint: %w", err)
	}
	cp, n, err := drawlog.VerifyCheckpoint(noteText, v.trust.logKey)
	if err != nil {
		return failedf("log_checkpoint", "the latest checkpoint: %v", err), nil
	}
	cosigned := "no witness keys, so its cosignatures were not checked"
	if len(v.trust.witnesses) == 0 {
		v.notes = append(v.notes, "log_checkpoint: no witness keys: that the latest checkpoint is the one every reader sees (no fork of the log) rests on the operator's word")
	} else {
		q := v.trust.quorumCount()
		cosigs, err := drawlog.VerifyCosignatures(n, v.trust.witnesses, q)
		var qe *drawlog.QuorumError
		switch {
		case errors.As(err, &qe):
			v.notes = append(v.notes, fmt.Sprintf("log_checkpoint: the latest checkpoint (size %d) is cosigned by %d of the %d witnesses, short of the quorum %d: that it is the one every reader sees rests on the operator's word",
				cp.Size, len(cosigs), len(v.trust.witnesses), q))
		case err != nil:
			return failedf("log_checkpoint", "the latest checkpoint's cosignatures: %v", err), nil
		}
		cosigned = fmt.Sprintf("cosigned by %d of %d witnesses, quorum %d", len(cosigs), len(v.trust.witnesses), q)
	}
	v.checks = append(v.checks, fmt.Sprintf("log_checkpoint (the latest checkpoint, size %d, is signed by the log key; %s)", cp.Size, cosigned))

	var included int
	for _, ref := range rec.Log {
		data := entries[ref.Index]
		if ref.Index >= cp.Size {
			v.notes = append(v.notes, fmt.Sprintf("log_inclusion: log entry %d (%s) is newer than the latest checkpoint (size %d), so its inclusion was not checked; try again later", ref.Index, ref.Type, cp.Size))
			continue
		}
		path, err := c.LogInclusionProof(ctx, ref.Index, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("fetch the inclusion proof of log entry %d: %w", ref.Index, err)
		}
		if err := drawlog.VerifyInclusion(ref.Index, cp.Size, drawlog.LeafHash(data), path, cp.Root); err != nil {
			return failedf("log_inclusion", "log entry %d (%s), as the service serves it, is not in the log's checkpoint of size %d: %s", ref.Index, ref.Type, cp.Size, proofError(err)), nil
		}
		included++
	}
	if included > 0 {
		v.checks = append(v.checks, fmt.Sprintf("log_inclusion (%d of the giveaway's log entries are in that checkpoint)", included))
	}

	type att struct {
		what string
		a    *draw.Attestation
	}
	atts := []att{{"the freeze attestation", rec.FreezeAttestation}}
	for n, rd := range rec.Replacements {
		atts = append(atts, att{fmt.Sprintf("round %d's request attestation", n+1), rd.RequestAttestation})
	}
	var consistent int
	for _, at := range atts {
		if at.a == nil {
			continue
		}
		acp, err := checkpointRoot(at.a.Checkpoint, v.trust.logKey)
		if err != nil {
			return failedf("log_consistency", "%s's checkpoint: %v", at.what, err), nil
		}
		switch {
		case acp.Size > cp.Size:
			return failedf("log_consistency", "the latest checkpoint (size %d) is smaller than %s's (size %d): the log was cut back", cp.Size, at.what, acp.Size), nil
		case acp.Size == cp.Size:
			if acp.Root != cp.Root {
				return failedf("log_consistency", "%s's checkpoint and the latest have the same size %d and different roots: the log forked", at.what, cp.Size), nil
			}
		default:
			proof, err := c.LogConsistencyProof(ctx, acp.Size, cp.Size)
			if err != nil {
				return nil, fmt.Errorf("fetch the consistency proof from size %d to %d: %w", acp.Size, cp.Size, err)
			}
			if err := drawlog.VerifyConsistency(acp.Size, cp.Size, proof, acp.Root, cp.Root); err != nil {
				return failedf("log_consistency", "%s's checkpoint (size %d) is not a prefix of the latest (size %d): the log was rewritten since: %s", at.what, acp.Size, cp.Size, proofError(err)), nil
			}
		}
		consistent++
	}
	if consistent > 0 {
		v.checks = append(v.checks, fmt.Sprintf("log_consistency (%d attesting checkpoint(s) are prefixes of the latest)", consistent))
	}
	return nil, nil
}

// reportV2 prints the verdict on a v2 record that passed every check that
// ran, and returns ExitOK only when none was left out.
func reportV2(env *Env, rec draw.Record, opts draw.VerifyOptions, rep draw.Report, v v2Verdict) int {
	var notChecked []string
	partial := len(v.notes) > 0 || len(v.trust.unpinned) > 0 || len(rep.Unchecked) > 0 || len(v.rules.notes) > 0
	for _, s := range rep.Skipped {
		switch {
		case s.Check == "attestation" && !rec.FreezeAttested:
			notChecked = append(notChecked, fmt.Sprintf("attestation: freeze_attested is false: the freeze time rests on the operator's word (no witness cosigned the freeze entry before beacon round %d was published, so the entrants may have been fixed after it was known)", rec.BeaconRound))
		case s.Check == "entrants":
			// As in v1: each entrant checks their own place with their
			// proof; the list is the auditor's.
			notChecked = append(notChecked, s.String()+" (give --entrants)")
			continue
		default:
			notChecked = append(notChecked, s.String())
		}
		partial = true
	}
	notChecked = append(notChecked, v.notes...)

	summary := fmt.Sprintf("giveaway %d (%s), %d entrants holding %d tickets, %d winners, %d redraw round(s)",
		rec.GiveawayID, rec.Version, rec.EntrantsCount, rec.TotalTickets, len(rec.CurrentWinners()), len(rec.Replacements))
	if partial {
		fmt.Fprintf(env.Stdout, "NOT FULLY VERIFIED: %s; the checks below marked \"not checked\" or \"not pinned\" were not made or rest on the service's word\n", summary)
	} else {
		fmt.Fprintf(env.Stdout, "verified: %s\n", summary)
	}
	fmt.Fprintf(env.Stdout, "  chain        %s\n", v.chain.describe)
	if rec.RulesSHA256 != nil {
		state := "checked against the rules served"
		if v.rules.set == nil {
			state = "not checked: see below"
		}
		fmt.Fprintf(env.Stdout, "  rules        sha256 %s (committed when the giveaway opened; %s)\n", rec.RulesSHA256, state)
	} else {
		fmt.Fprintln(env.Stdout, "  rules        none committed (rules_sha256 is null)")
	}
	for _, w := range v.rules.words {
		fmt.Fprintf(env.Stdout, "               %s\n", w)
	}
	if v.trust.logKey != nil {
		fmt.Fprintf(env.Stdout, "  log key      %s\n", v.trust.logKeyText)
	}
	if len(v.trust.witnesses) > 0 {
		fmt.Fprintf(env.Stdout, "  witnesses    %s (quorum %d)\n", strings.Join(v.trust.witnessText, ", "), v.trust.quorumCount())
	}
	for _, ch := range rep.Checks {
		fmt.Fprintf(env.Stdout, "  ok  %s\n", checkDetail(ch, rec, opts, v.chain))
	}
	for _, ch := range v.checks {
		fmt.Fprintf(env.Stdout, "  ok  %s\n", ch)
	}
	if len(rep.Unchecked) == 0 && len(rec.Claims()) > 0 {
		how := "each by its inclusion proof in the Merkle sum tree"
		if opts.Entrants != nil {
			how = "against the entrant list"
		}
		fmt.Fprintf(env.Stdout, "  ok  winner identities and tickets (%d user ids, %s)\n", len(rec.Claims()), how)
	}
	for _, n := range notChecked {
		fmt.Fprintf(env.Stdout, "  not checked  %s\n", n)
	}
	for _, u := range v.trust.unpinned {
		fmt.Fprintf(env.Stdout, "  not pinned   %s\n", u)
	}
	if len(rep.Unchecked) > 0 {
		fmt.Fprintf(env.Stdout, "  not checked  winner identities: nothing here ties these %d user ids and ticket ranges to the entrant indices the seed picked;\n", len(rep.Unchecked))
		fmt.Fprintln(env.Stdout, "               give --entrants FILE, or verify against the service URL, which fetches their inclusion proofs")
		for _, cl := range rep.Unchecked {
			fmt.Fprintf(env.Stdout, "               %s\n", cl)
		}
	}
	printWinnersV2(env, rec, rep.Unchecked)
	for i, l := range v.recheck {
		head := "               "
		if i == 0 {
			head = "  re-check     "
		}
		fmt.Fprintf(env.Stdout, "%s%s\n", head, l)
	}
	if partial {
		return ExitPartial
	}
	return ExitOK
}

// checkDetail describes a passed check of draw.Verify.
func checkDetail(check string, rec draw.Record, opts draw.VerifyOptions, chain pinnedChain) string {
	switch check {
	case "version":
		return "version (" + rec.Version + ")"
	case "commitment":
		return fmt.Sprintf("commitment (SHA-256 of the revealed server seed is %s, published at %s)", rec.Commitment, rec.CommittedAt.Format(time.RFC3339))
	case "chain":
		return "chain (the record's chain_hash is the pinned chain's)"
	case "timing":
		return fmt.Sprintf("timing (committed %s, frozen %s, drawn %s)", rec.CommittedAt.Format(time.RFC3339), rec.FrozenAt.Format(time.RFC3339), rec.DrawnAt.Format(time.RFC3339))
	case "beacon_round":
		return fmt.Sprintf("beacon_round (round %d is the first at or after frozen_at + beacon_delay %d s)", rec.BeaconRound, rec.BeaconDelay)
	case "beacon":
		if rec.EntrantsCount == 0 {
			return "beacon (no entrants, so no beacon was awaited)"
		}
		return fmt.Sprintf("beacon (round %d's BLS signature verifies against the pinned chain's key; randomness = SHA-256(signature))", rec.BeaconRound)
	case "attestation":
		return "attestation (" + attestationDetail(rec, opts, chain) + ")"
	case "total_tickets":
		return fmt.Sprintf("total_tickets (%d, within %d entrants of 1 to %d tickets each)", rec.TotalTickets, rec.EntrantsCount, rec.MaxTickets)
	case "entrants":
		return fmt.Sprintf("entrants (root, count and tickets of %d entrants recomputed from the list)", len(opts.Entrants))
	case "draw_seed":
		return "draw_seed (recomputed from the server seed, entrants root, N, T, chain, beacon round and randomness)"
	case "winners":
		if opts.Entrants != nil {
			return "winners (every pick recomputed from the stream and the entrant list)"
		}
		return "winners (every pick recomputed from the stream, against the ticket ranges the record claims)"
	case "replacements":
		return fmt.Sprintf("replacements (%d redraw round(s): times, beacon rounds, beacons, attestations given keys, and picks)", len(rec.Replacements))
	case "proof":
		return fmt.Sprintf("proof (%d inclusion proofs in the Merkle sum tree: user, tickets and ticket range)", len(opts.Proofs))
	case "log":
		return fmt.Sprintf("log (%d log entries match the record byte for byte and follow the giveaway's rules)", len(rec.Log))
	}
	return check
}

// attestationDetail names the witnesses that cosigned the freeze in time.
func attestationDetail(rec draw.Record, opts draw.VerifyOptions, chain pinnedChain) string {
	a := rec.FreezeAttestation
	_, n, err := drawlog.VerifyCheckpoint(a.Checkpoint, opts.LogKey)
	if err != nil {
		return err.Error()
	}
	quorum := opts.Quorum
	if quorum == 0 {
		quorum = len(opts.Witnesses)
	}
	cosigs, _ := drawlog.VerifyCosignatures(n, opts.Witnesses, 0)
	deadline := chain.info().RoundTime(rec.BeaconRound).Add(-draw.CosignatureMargin)
	var who []string
	for _, cs := range cosigs {
		if !cs.Time.After(deadline) {
			who = append(who, fmt.Sprintf("%s at %s", cs.Name, cs.Time.Format(time.RFC3339)))
		}
	}
	return fmt.Sprintf("the freeze entry, log index %d, is in a checkpoint of size %d signed by the log key and cosigned by %s, each by %s (beacon round %d's time - 3 s); quorum %d",
		a.LeafIndex, a.TreeSize, strings.Join(who, ", "), deadline.Format(time.RFC3339), rec.BeaconRound, quorum)
}

// printWinnersV2 lists the winners with their tickets, and each redraw
// round's disqualifications with their reasons.
func printWinnersV2(env *Env, rec draw.Record, unchecked []draw.Claim) {
	unsure := make(map[uint64]bool, len(unchecked))
	for _, cl := range unchecked {
		unsure[cl.Index] = true
	}
	note := func(index uint64) string {
		if unsure[index] {
			return ", user id not checked"
		}
		return ""
	}
	for _, w := range rec.Winners {
		fmt.Fprintf(env.Stdout, "  drawn %d: user %d, %d ticket(s) [%d, %d) of %d, hit by ticket %d (stream value %d, entrant index %d%s)\n",
			w.Position, w.UserID, w.Tickets, w.FirstTicket, w.FirstTicket+w.Tickets, rec.TotalTickets, w.Ticket, w.StreamIndex, w.Index, note(w.Index))
	}
	var disqualified int
	for _, rd := range rec.Replacements {
		disqualified += len(rd.Disqualified)
		attest := "attested"
		if rd.RequestAttestation == nil {
			attest = "not attested"
		}
		fmt.Fprintf(env.Stdout, "  redraw round %d, requested %s (%s), beacon round %d, drawn %s:\n",
			rd.Round, rd.RequestedAt.Format(time.RFC3339), attest, rd.BeaconRound, rd.RedrawnAt.Format(time.RFC3339))
		for i, d := range rd.Disqualified {
			fmt.Fprintf(env.Stdout, "    disqualified user %d: %s\n", d.UserID, reasonText(d.Reason))
			if i >= len(rd.Replacements) {
				continue
			}
			p := rd.Replacements[i]
			if p.Empty() {
				fmt.Fprintf(env.Stdout, "    position %d (user %d's) stays empty: no one was left to draw\n", p.Position, p.ReplacesUserID)
				continue
			}
			fmt.Fprintf(env.Stdout, "    position %d: user %d replaces user %d, %d ticket(s) [%d, %d), hit by ticket %d (stream value %d, entrant index %d%s)\n",
				p.Position, p.UserID, p.ReplacesUserID, p.Tickets, p.FirstTicket, p.FirstTicket+p.Tickets, p.Ticket, p.StreamIndex, p.Index, note(p.Index))
		}
	}
	if disqualified > 0 {
		fmt.Fprintf(env.Stdout, "  %d winner(s) disqualified in %d round(s)\n", disqualified, len(rec.Replacements))
	}
	for _, w := range rec.CurrentWinners() {
		fmt.Fprintf(env.Stdout, "  winner %d: user %d (%d of %d tickets, %s, entrant index %d%s)\n", w.Position, w.UserID, w.Tickets, rec.TotalTickets,
			ticketRange(w.FirstTicket, w.Tickets), w.Index, note(w.Index))
	}
}

// ticketRange names tickets [first, first+n) as a person counts them.
func ticketRange(first, n uint64) string {
	if n == 1 {
		return fmt.Sprintf("ticket %d", first)
	}
	return fmt.Sprintf("tickets %d to %d", first, first+n-1)
}
