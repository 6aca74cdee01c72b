package participantctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// monitorHelp heads monitor's --help.
const monitorHelp = `Usage: participantctl monitor --key LOG_KEY --state FILE [flags] SERVICE_URL

Follows the service's public draw log. Each pass fetches the latest
checkpoint and checks its signature with the pinned log key (and, given
--witness-key, the witnesses' cosignatures and quorum), that it extends the
checkpoint seen last (same or larger size, RFC 6962 consistency proof),
that every new entry is a canonical telegive-log-v1 entry whose bytes hash
to the checkpoint's root, and that each giveaway's entries obey the rules
(one commit, one freeze, one draw, redraws in order, seq and prev chained).
The service serves the latest checkpoint a quorum cosigned, and its latest
signed one before any has a quorum (a new log, or witnesses away): one
short of the quorum is fetched again until --cosign-wait has passed, and
only then named a fault. The empty log's checkpoint, which is
never submitted to the witnesses, needs no cosignature.
For every giveaway whose draw or redraw is new it fetches the draw record
and checks it against its log entries: the record names exactly the
giveaway's entries, rebuilds them byte for byte, and its seed and winners
recompute (v2: from the beacon signature verified against the pinned
chain, quicknet unless --chain-info names another; winners by the
service's inclusion proofs).

The state file keeps the last verified checkpoint and which records were
checked; it is replaced atomically after each pass that found no fault. A
restarted monitor re-reads the entries up to the saved checkpoint, checks
that they still hash to its root, rebuilds the per-giveaway rules from
them, and goes on from there; records already checked are not fetched
again until their giveaway has a new entry.

Faults are printed as FAULT <name>: <detail>, with the names checkpoint,
witnesses, log-shrunk, log-rewritten, entries, rules, record, chain,
beacon and attestation. Without --once the monitor polls every --interval
until a fault or a signal; a pass that cannot reach the service is retried
at the next interval.

Exit codes: 0 the log checked out (after one pass with --once, or when
stopped by a signal), 1 a fault was found, 2 usage error, 3 the service
(with --once) or the state file could not be read or written.

Flags:
`

// monitorState is what the state file keeps between runs.
type monitorState struct {
	// LogKey is the log key the state was verified with.
	LogKey string `json:"log_key"`
	// Size, Root and Checkpoint are the last checkpoint verified.
	Size       uint64    `json:"size"`
	Root       draw.Hash `json:"root"`
	Checkpoint string    `json:"checkpoint"`
	// Records holds, by giveaway id, the log index of the giveaway's last
	// entry when its record was last checked.
	Records   map[int64]uint64 `json:"records_checked"`
	CheckedAt time.Time        `json:"checked_at"`
}

// seenEntry is what the monitor keeps of an entry between passes.
type seenEntry struct {
	index uint64
	typ   drawlog.Type
	leaf  drawlog.Hash
}

// logGiveaway is what the monitor knows of a giveaway from the log.
type logGiveaway struct {
	version string
	legacy  bool
	drawn   bool
	redrawn bool
	entries []seenEntry
}

// needsRecord reports whether the giveaway has a drawn record to check.
func (g *logGiveaway) needsRecord() bool { return g.drawn || g.legacy && g.redrawn }

type monitorRun struct {
	env       *Env
	c         *client.Client
	chain     pinnedChain
	trust     trust
	statePath string
	state     monitorState
	// cosignWait is how long a checkpoint short of the witnesses' quorum
	// is fetched again before that is a fault.
	cosignWait time.Duration

	// Rebuilt from the entries on every start.
	fed       uint64
	rng       *compact.Range
	checker   *drawlog.Checker
	giveaways map[int64]*logGiveaway
}

var rangeFactory = compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

func (m *monitorRun) reset() {
	m.fed = 0
	m.rng = rangeFactory.NewEmptyRange(0)
	m.checker = drawlog.NewChecker()
	m.giveaways = make(map[int64]*logGiveaway)
}

func (m *monitorRun) rangeRoot() drawlog.Hash {
	if m.rng.End() == 0 {
		return drawlog.EmptyRoot
	}
	h, err := m.rng.GetRootHash(nil)
	if err != nil {
		// A range that starts at 0 always has a root.
		panic(err)
	}
	return drawlog.Hash(h)
}

// monitor follows the draw log and checks it, and the draw records its
// entries name.
func monitor(ctx context.Context, env *Env, args []string) int {
	fs := newFlags(env, "monitor", "")
	fs.Usage = func() {
		fmt.Fprint(env.Stderr, monitorHelp)
		fs.PrintDefaults()
	}
	tf := addTrustFlags(fs, "key", "the draw log's note verifier key, pinned from a source other than the service (required)")
	statePath := fs.String("state", "", "file keeping the last verified checkpoint, replaced atomically after each pass (required)")
	once := fs.Bool("once", false, "make one pass and exit")
	interval := fs.Duration("interval", time.Minute, "time between passes when following the log")
	cosignWait := fs.Duration("cosign-wait", 30*time.Second, "how long to fetch a checkpoint short of the witnesses' quorum again (the service serves its latest signed one while none has a quorum) until that is a fault")
	token, err := tokenFlag(fs, env)
	if err != nil {
		fmt.Fprintln(env.Stderr, "monitor:", err)
		return ExitUnusable
	}
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 || *tf.logKey == "" || *statePath == "" || *interval <= 0 || *cosignWait < 0 {
		fs.Usage()
		return ExitUsage
	}
	m := &monitorRun{env: env, statePath: *statePath, cosignWait: *cosignWait}
	if m.chain, err = tf.loadChain(); err != nil {
		fmt.Fprintln(env.Stderr, "monitor:", err)
		return ExitUnusable
	}
	if m.trust, err = tf.pinned(); err != nil {
		fmt.Fprintln(env.Stderr, "monitor:", err)
		return ExitUsage
	}
	if m.c, err = client.New(fs.Arg(0), client.WithServiceToken(*token), client.WithServiceName("participantctl")); err != nil {
		fmt.Fprintln(env.Stderr, "monitor:", err)
		return ExitUsage
	}
	if code := m.load(); code != ExitOK {
		return code
	}
	m.reset()
	fmt.Fprintf(env.Stdout, "chain: %s\n", m.chain.describe)
	if len(m.trust.witnesses) == 0 {
		fmt.Fprintln(env.Stdout, "no --witness-key given: the checkpoints' cosignatures and the draws' attestations are not checked")
	}
	for {
		f, err := m.pass(ctx)
		switch {
		case f != nil:
			fmt.Fprintf(env.Stdout, "FAULT %s: %s\n", f.check, oneLine(f.reason))
			return ExitFailed
		case err != nil && ctx.Err() != nil:
			return ExitOK
		case errors.Is(err, errState):
			fmt.Fprintln(env.Stderr, "monitor:", err)
			return ExitUnusable
		case err != nil:
			fmt.Fprintln(env.Stderr, "monitor:", err)
			if *once {
				return ExitUnusable
			}
			// The entries fed so far were not all verified against a
			// checkpoint: start over from the state.
			m.reset()
		}
		if *once {
			return ExitOK
		}
		select {
		case <-ctx.Done():
			return ExitOK
		case <-time.After(*interval):
		}
	}
}

// errState marks a state file that could not be written.
var errState = errors.New("state file")

// load reads the state file, if there is one.
func (m *monitorRun) load() int {
	data, err := os.ReadFile(m.statePath)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(m.env.Stdout, "no state in %s yet: following the log from its first entry\n", m.statePath)
		m.state = monitorState{LogKey: m.trust.logKeyText, Root: draw.Hash(drawlog.EmptyRoot), Records: map[int64]uint64{}}
		return ExitOK
	}
	if err != nil {
		fmt.Fprintln(m.env.Stderr, "monitor:", err)
		return ExitUnusable
	}
	if err := json.Unmarshal(data, &m.state); err != nil {
		fmt.Fprintf(m.env.Stderr, "monitor: %s is not a monitor state file: %v\n", m.statePath, err)
		return ExitUnusable
	}
	if m.state.LogKey != m.trust.logKeyText {
		fmt.Fprintf(m.env.Stderr, "monitor: %s follows the log key %s, not %s: give that key, or another state file\n", m.statePath, m.state.LogKey, m.trust.logKeyText)
		return ExitUsage
	}
	if m.state.Records == nil {
		m.state.Records = map[int64]uint64{}
	}
	fmt.Fprintf(m.env.Stdout, "resuming from %s: checkpoint of size %d verified at %s; re-reading its entries to rebuild the per-giveaway rules\n",
		m.statePath, m.state.Size, m.state.CheckedAt.Format(time.RFC3339))
	return ExitOK
}

// save replaces the state file atomically: a crash leaves the old state
// or the new one, never a mix.
func (m *monitorRun) save() error {
	data, err := json.MarshalIndent(m.state, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(m.statePath)
	f, err := os.CreateTemp(dir, "."+filepath.Base(m.statePath)+".*")
	if err != nil {
		return fmt.Errorf("%w: %v", errState, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("%w: %v", errState, err)
	}
	if err := os.Rename(f.Name(), m.statePath); err != nil {
		return fmt.Errorf("%w: %v", errState, err)
	}
	// The rename itself is durable once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// pass makes one pass over the log: the checkpoint, the new entries, the
// rules and the new draws' records. It returns the first fault found, or
// an error when the service could not be read.
func (m *monitorRun) pass(ctx context.Context) (*failure, error) {
	noteText, cp, cosigned, f, err := m.latestCheckpoint(ctx)
	if f != nil || err != nil {
		return f, err
	}
	known, knownRoot := m.state.Size, drawlog.Hash(m.state.Root)
	if m.fed > cp.Size {
		m.reset()
	}

	from := m.fed
	pending := make(map[uint64][]byte)
	var ruleErr error
	for m.fed < cp.Size {
		end := min(m.fed+client.MaxLogEntries, cp.Size)
		es, err := m.c.LogEntries(ctx, m.fed, end)
		if err != nil {
			return nil, fmt.Errorf("fetch entries %d to %d: %w", m.fed, end, err)
		}
		if len(es) == 0 || uint64(len(es)) > end-m.fed {
			return failedf("entries", "asked for entries %d to %d of a checkpoint of size %d, the service answered with %d", m.fed, end, cp.Size, len(es)), nil
		}
		for _, e := range es {
			if e.Index != m.fed {
				return failedf("entries", "expected entry %d, the service answered with entry %d", m.fed, e.Index), nil
			}
			parsed, err := drawlog.Parse(e.Data)
			if err != nil {
				return failedf("entries", "entry %d is not a valid telegive-log-v1 entry: %v", e.Index, err), nil
			}
			leaf := drawlog.LeafHash(e.Data)
			if err := m.rng.Append(leaf[:], nil); err != nil {
				return nil, err
			}
			m.fed++
			if m.fed == known && from < known {
				if root := m.rangeRoot(); root != knownRoot {
					return failedf("log-rewritten", "entries 0 to %d, as served now, hash to %s, not to the root %s verified before (kept in %s)", known-1, root, knownRoot, m.statePath), nil
				}
			}
			if ruleErr == nil {
				ruleErr = m.checker.Add(e.Index, parsed)
			}
			m.track(e.Index, parsed, leaf)
			pending[e.Index] = e.Data
		}
	}
	if root := m.rangeRoot(); root != cp.Root {
		return failedf("entries", "the entries served hash to %s, not to the root %s of the checkpoint of size %d", root, cp.Root, cp.Size), nil
	}
	if ruleErr != nil {
		var re *drawlog.RuleError
		if errors.As(ruleErr, &re) {
			return failedf("rules", "giveaway %d, entry %d: rule %s: %s", re.GiveawayID, re.Index, re.Rule, re.Detail), nil
		}
		return failedf("rules", "%v", ruleErr), nil
	}

	ids := make([]int64, 0, len(m.giveaways))
	for id := range m.giveaways {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var checked []string
	records := make(map[int64]uint64, len(m.state.Records))
	for id, last := range m.state.Records {
		records[id] = last
	}
	for _, id := range ids {
		g := m.giveaways[id]
		last := g.entries[len(g.entries)-1].index
		if done, ok := records[id]; (ok && done >= last) || !g.needsRecord() {
			continue
		}
		f, err := m.checkRecord(ctx, id, g, cp, pending)
		if f != nil || err != nil {
			return f, err
		}
		records[id] = last
		checked = append(checked, fmt.Sprintf("giveaway %d (%s)", id, g.version))
	}

	m.state = monitorState{LogKey: m.trust.logKeyText, Size: cp.Size, Root: draw.Hash(cp.Root), Checkpoint: noteText, Records: records, CheckedAt: time.Now().UTC()}
	if err := m.save(); err != nil {
		return nil, err
	}
	line := fmt.Sprintf("ok  checkpoint of size %d, root %s: signed by the log key%s", cp.Size, cp.Root, cosigned)
	if known > 0 {
		line += fmt.Sprintf("; consistent with size %d verified before", known)
	}
	line += fmt.Sprintf("; %d entries read and checked (canonical, hashing to the root, per-giveaway rules)", cp.Size-from)
	if len(checked) > 0 {
		line += "; records checked: " + strings.Join(checked, ", ")
	}
	fmt.Fprintln(m.env.Stdout, line)
	return nil, nil
}

// latestCheckpoint fetches the log's checkpoint and checks its signature,
// that it extends the checkpoint verified before, and its cosignatures.
// The service serves the latest checkpoint a quorum cosigned, or its
// latest signed one before any has a quorum: one short of the quorum is
// fetched again until --cosign-wait has passed, and only then a fault.
// It returns the checkpoint's note and what it says of the cosignatures.
func (m *monitorRun) latestCheckpoint(ctx context.Context) (string, drawlog.Checkpoint, string, *failure, error) {
	deadline := time.Now().Add(m.cosignWait)
	for {
		noteText, err := m.c.LogCheckpoint(ctx)
		if err != nil {
			return "", drawlog.Checkpoint{}, "", nil, fmt.Errorf("fetch the checkpoint: %w", err)
		}
		cp, n, err := drawlog.VerifyCheckpoint(noteText, m.trust.logKey)
		if err != nil {
			return "", cp, "", failedf("checkpoint", "%v", err), nil
		}
		// The witnesses come second: a checkpoint the log key signed
		// that does not extend the one verified before is the log's own
		// fault, whether or not the witnesses refused it (as they should).
		if f, err := m.extends(ctx, cp); f != nil || err != nil {
			return "", cp, "", f, err
		}
		cosigned, f := m.cosignatures(cp, n)
		wait := time.Until(deadline)
		if f == nil || wait <= 0 {
			return noteText, cp, cosigned, f, nil
		}
		select {
		case <-ctx.Done():
			return "", cp, "", nil, ctx.Err()
		case <-time.After(min(wait, cosignPoll)):
		}
	}
}

// cosignPoll is how often a checkpoint short of the witnesses' quorum is
// fetched again.
const cosignPoll = 250 * time.Millisecond

// extends checks that the checkpoint extends the one verified before: it
// is no smaller, has the same root at the same size, and the service
// proves the old one a prefix of it.
func (m *monitorRun) extends(ctx context.Context, cp drawlog.Checkpoint) (*failure, error) {
	known, knownRoot := m.state.Size, drawlog.Hash(m.state.Root)
	switch {
	case cp.Size < known:
		return failedf("log-shrunk", "the checkpoint has %d entries, the one verified before (kept in %s) had %d: entries were removed", cp.Size, m.statePath, known), nil
	case cp.Size == known && cp.Root != knownRoot:
		return failedf("log-rewritten", "the checkpoint of size %d has root %s, the one verified before had %s", cp.Size, cp.Root, knownRoot), nil
	case known > 0 && cp.Size > known:
		proof, err := m.c.LogConsistencyProof(ctx, known, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("fetch the consistency proof from %d to %d: %w", known, cp.Size, err)
		}
		if err := drawlog.VerifyConsistency(known, cp.Size, proof, knownRoot, cp.Root); err != nil {
			return failedf("log-rewritten", "the checkpoint of size %d is not consistent with the one of size %d verified before (kept in %s): %s", cp.Size, known, m.statePath, proofError(err)), nil
		}
	}
	return nil, nil
}

// cosignatures checks the checkpoint's cosignatures against the pinned
// witnesses, and says what it found for the pass's report.
func (m *monitorRun) cosignatures(cp drawlog.Checkpoint, n *note.Note) (string, *failure) {
	switch {
	case len(m.trust.witnesses) == 0:
		return "", nil
	case cp.Size == 0:
		// An empty log has one root, which nobody can fork, and the
		// service submits no checkpoint to the witnesses before its first
		// entry.
		return ", empty, so not submitted to the witnesses", nil
	}
	q := m.trust.quorumCount()
	cosigs, err := drawlog.VerifyCosignatures(n, m.trust.witnesses, q)
	if err != nil {
		return "", failedf("witnesses", "the checkpoint of size %d: %v", cp.Size, err)
	}
	return fmt.Sprintf(", cosigned by %d of %d witnesses (quorum %d)", len(cosigs), len(m.trust.witnesses), q), nil
}

// track notes an entry under its giveaway.
func (m *monitorRun) track(index uint64, e drawlog.Entry, leaf drawlog.Hash) {
	id := e.Head().GiveawayID
	g := m.giveaways[id]
	if g == nil {
		g = &logGiveaway{}
		m.giveaways[id] = g
	}
	switch e := e.(type) {
	case drawlog.Commit:
		g.version = e.Version
	case drawlog.Legacy:
		g.legacy, g.version = true, draw.Version
	case drawlog.Draw:
		g.drawn = true
	case drawlog.RedrawRequest, drawlog.Redraw:
		g.redrawn = true
	}
	g.entries = append(g.entries, seenEntry{index: index, typ: e.Type(), leaf: leaf})
}

// entryBytes returns the giveaway's entries' bytes: from this pass, or
// fetched again and checked against the leaf hash verified before.
func (m *monitorRun) entryBytes(ctx context.Context, g *logGiveaway, pending map[uint64][]byte) (map[uint64][]byte, *failure, error) {
	out := make(map[uint64][]byte, len(g.entries))
	for _, e := range g.entries {
		if data, ok := pending[e.index]; ok {
			out[e.index] = data
			continue
		}
		data, err := fetchEntry(ctx, m.c, e.index)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch log entry %d: %w", e.index, err)
		}
		if drawlog.LeafHash(data) != e.leaf {
			return nil, failedf("log-rewritten", "entry %d, as served now, is not the entry verified before", e.index), nil
		}
		out[e.index] = data
	}
	return out, nil, nil
}

// checkRecord fetches a drawn giveaway's record and checks it against its
// log entries, its beacons and its winners' inclusion proofs.
func (m *monitorRun) checkRecord(ctx context.Context, id int64, g *logGiveaway, cp drawlog.Checkpoint, pending map[uint64][]byte) (*failure, error) {
	rec, err := m.c.Draw(ctx, id)
	if client.IsCode(err, client.CodeDrawNotFound) {
		return failedf("record", "giveaway %d: the log holds its draw, but the service has no draw record", id), nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetch the record of giveaway %d: %w", id, err)
	}
	fail := func(check, format string, args ...any) (*failure, error) {
		return failedf(check, "giveaway %d: "+format, append([]any{id}, args...)...), nil
	}
	switch {
	case rec.GiveawayID != id:
		return fail("record", "the service answered with the record of giveaway %d", rec.GiveawayID)
	case rec.Version != g.version:
		return fail("record", "its log entries are %s, the record is %s", g.version, rec.Version)
	case rec.Status != draw.StatusDrawn:
		return fail("record", "the log holds its draw, the record's status is %q", rec.Status)
	}
	entries, f, err := m.entryBytes(ctx, g, pending)
	if f != nil || err != nil {
		return f, err
	}
	proofs, notEntered, err := fetchClaimProofs(ctx, m.c, rec, draw.VerifyOptions{})
	if err != nil {
		return nil, fmt.Errorf("giveaway %d: %w", id, err)
	}
	if len(notEntered) > 0 {
		return fail("record", "%s: the service has no inclusion proof of that user, who was not entered in the draw", notEntered[0])
	}

	if rec.Version != draw.VersionV2 {
		if err := draw.Verify(rec, draw.VerifyOptions{Proofs: proofs}); err != nil {
			return fail("record", "%v", err)
		}
		for _, e := range g.entries {
			if reason := compareV1Entry(rec, entries[e.index]); reason != "" {
				return fail("record", "log entry %d (%s): %s", e.index, e.typ, reason)
			}
		}
		return nil, nil
	}

	var logged, named []string
	for _, e := range g.entries {
		logged = append(logged, fmt.Sprintf("%s %d", e.typ, e.index))
	}
	for _, ref := range rec.Log {
		if ref.Index < cp.Size {
			named = append(named, fmt.Sprintf("%s %d", ref.Type, ref.Index))
		}
	}
	if !slices.Equal(logged, named) {
		return fail("record", "the record's log names [%s] below index %d, the log holds [%s]", strings.Join(named, ", "), cp.Size, strings.Join(logged, ", "))
	}
	chain := m.chain.info()
	if !bytes.Equal(chain.Hash, rec.ChainHash[:]) {
		return fail("chain", "its draw is on chain %s, the monitor pins %s (name another chain with --chain-info)", rec.ChainHash, m.chain.describe)
	}
	if rec.EntrantsCount > 0 {
		if err := chain.Verify(rec.BeaconRound, rec.BeaconSignature); err != nil {
			return fail("beacon", "beacon_signature is not round %d's beacon of the pinned chain: %v", rec.BeaconRound, err)
		}
	}
	for _, rd := range rec.Replacements {
		if err := chain.Verify(rd.BeaconRound, rd.BeaconSignature); err != nil {
			return fail("beacon", "redraw round %d: beacon_signature is not round %d's beacon of the pinned chain: %v", rd.Round, rd.BeaconRound, err)
		}
	}
	opts := draw.VerifyOptions{Chain: m.chain.chain, LogKey: m.trust.logKey, Witnesses: m.trust.witnesses, Quorum: m.trust.quorum,
		LogEntries: entries, Proofs: proofs}
	if err := draw.Verify(rec, opts); err != nil {
		var ve *draw.VerifyError
		if errors.As(err, &ve) {
			return fail("record", "fails its %s check: %s", ve.Check, ve.Reason)
		}
		return fail("record", "%v", err)
	}
	atts := []*draw.Attestation{rec.FreezeAttestation}
	for _, rd := range rec.Replacements {
		atts = append(atts, rd.RequestAttestation)
	}
	for _, a := range atts {
		if a == nil {
			continue
		}
		acp, err := checkpointRoot(a.Checkpoint, m.trust.logKey)
		if err != nil {
			return fail("attestation", "an attesting checkpoint: %v", err)
		}
		switch {
		case acp.Size > cp.Size:
			return fail("attestation", "an attesting checkpoint has size %d, beyond the log's %d", acp.Size, cp.Size)
		case acp.Size == cp.Size:
			if acp.Root != cp.Root {
				return fail("attestation", "an attesting checkpoint of size %d has another root than the log's: the witnesses cosigned another log", acp.Size)
			}
		default:
			proof, err := m.c.LogConsistencyProof(ctx, acp.Size, cp.Size)
			if err != nil {
				return nil, fmt.Errorf("fetch the consistency proof from %d to %d: %w", acp.Size, cp.Size, err)
			}
			if err := drawlog.VerifyConsistency(acp.Size, cp.Size, proof, acp.Root, cp.Root); err != nil {
				return fail("attestation", "the attesting checkpoint of size %d is not a prefix of the log: the witnesses cosigned another log: %s", acp.Size, proofError(err))
			}
		}
	}
	return nil, nil
}

// compareV1Entry rebuilds a v1 giveaway's log entry from its record, with
// the entry's own seq and prev, and says how the two differ. A legacy
// entry stands for the record as it was before the log, which may have
// changed since, and is not compared.
func compareV1Entry(rec draw.Record, data []byte) string {
	e, err := drawlog.Parse(data)
	if err != nil {
		return err.Error()
	}
	h := e.Head()
	var want drawlog.Entry
	switch e := e.(type) {
	case drawlog.Legacy:
		return ""
	case drawlog.Commit:
		want, err = rec.CommitEntry(h)
	case drawlog.Freeze:
		want, err = rec.FreezeEntry(h)
	case drawlog.Draw:
		want, err = rec.DrawEntry(h)
	case drawlog.RedrawRequest:
		want, err = rec.RedrawRequestEntry(h, int(e.Round))
	case drawlog.Redraw:
		want, err = rec.RedrawEntry(h, int(e.Round))
	}
	if err != nil {
		return "the record cannot give it: " + err.Error()
	}
	b, err := drawlog.Marshal(want)
	if err != nil {
		return "the record's entry does not encode: " + err.Error()
	}
	if !bytes.Equal(b, data) {
		return draw.EntryDiff(b, data)
	}
	return ""
}
