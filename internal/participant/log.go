package participant

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// DefaultLogOrigin is the draw log's origin, and its key's name, when none
// is configured.
const DefaultLogOrigin = "telegive.org/participant-service/draw-log"

// MaxLogEntries is the most entries one LogEntries call returns.
const MaxLogEntries = 1000

// CodeTreeSizeNotReached refuses a proof under a tree larger than the log
// is: a well-formed request the log may be able to answer once it has
// grown, so a client may retry. The HTTP layer answers 409.
const CodeTreeSizeNotReached Code = "TREE_SIZE_NOT_REACHED"

// treeSizeNotReached is the refusal of a proof under a tree of size
// entries, named by the field, when the log has only logSize.
func treeSizeNotReached(field string, size, logSize uint64) error {
	return Errorf(CodeTreeSizeNotReached, "%s %d is beyond the log, which has %d entries so far; try again once it has grown", field, size, logSize)
}

// LogWitness is a witness the log's checkpoints are submitted to.
type LogWitness struct {
	// URL is the witness's submission prefix, for information.
	URL string
	// Key is its cosignature/v1 verifier key,
	// name+hash+base64(0x04 || Ed25519 public key).
	Key string
}

// LogOptions configure the draw log. Entries are appended whatever they
// say; they concern checkpoints and their witnesses.
type LogOptions struct {
	// Origin names the log; DefaultLogOrigin when empty.
	Origin string
	// Signer signs checkpoints; its name must be Origin. When nil, a key is
	// generated once and kept in the database, so that every replica signs
	// with it (LogKey says so).
	Signer LogSigner
	// Cosigner submits checkpoints to Witnesses; nil when there are none.
	Cosigner Cosigner
	// Witnesses are the witnesses whose cosignatures attest a freeze or a
	// redraw request; none means no attestation.
	Witnesses []LogWitness
	// Quorum is how many witnesses must cosign in time; 0 means all.
	Quorum int
}

// LogCheckpoint is a signed checkpoint of the draw log.
type LogCheckpoint struct {
	Size uint64
	// Note is the signed note: the checkpoint body, the log's signature and
	// the witnesses' cosignature lines gathered for it.
	Note string
}

// LogAttestation is the outcome of Attest.
type LogAttestation struct {
	// Attested says whether a quorum of the witnesses cosigned a checkpoint
	// covering the entry by the deadline.
	Attested bool
	// Reason says why not, when not attested.
	Reason string
	// Checkpoint is the signed note with the cosignature lines counted, and
	// TreeSize its size, when attested.
	Checkpoint string
	TreeSize   uint64
	// Cosigned is how many witnesses cosigned it in time.
	Cosigned int
}

// LogKey is what verifiers pin to check the log.
type LogKey struct {
	Origin string
	// VerifierKey is the log's note verifier key,
	// name+hash+base64(0x01 || Ed25519 public key).
	VerifierKey string
	// Generated says that no key is configured: this one was generated and
	// is kept in the database, and should be replaced by a configured one.
	Generated bool
	Witnesses []LogWitness
	// Quorum is how many witnesses must cosign in time.
	Quorum int
}

// drawLog is the Service's state of the log: the parsed witness keys and
// the signer, once known. Everything else is in the store.
type drawLog struct {
	opts      LogOptions
	verifiers []note.Verifier
	// err is a configuration error, returned by every checkpoint call.
	err error

	mu        sync.Mutex
	signer    LogSigner
	generated bool
}

func newDrawLog(o LogOptions) *drawLog {
	if o.Origin == "" {
		o.Origin = DefaultLogOrigin
	}
	l := &drawLog{opts: o, signer: o.Signer}
	for _, w := range o.Witnesses {
		v, err := drawlog.NewWitnessVerifier(w.Key)
		if err != nil {
			l.err = fmt.Errorf("draw log: witness %s: %w", w.URL, err)
			return l
		}
		l.verifiers = append(l.verifiers, v)
	}
	switch {
	case o.Quorum < 0 || o.Quorum > len(o.Witnesses):
		l.err = fmt.Errorf("draw log: a quorum of %d of %d witnesses", o.Quorum, len(o.Witnesses))
	case len(o.Witnesses) > 0 && o.Cosigner == nil:
		l.err = errors.New("draw log: witnesses are configured but no cosigner")
	case o.Signer != nil && o.Signer.Name() != o.Origin:
		l.err = fmt.Errorf("draw log: the signing key is named %q, not for the origin %q", o.Signer.Name(), o.Origin)
	}
	return l
}

func (l *drawLog) quorum() int {
	if l.opts.Quorum == 0 {
		return len(l.verifiers)
	}
	return l.opts.Quorum
}

// logSigner is a LogSigner from a note signer key.
type logSigner struct {
	note.Signer
	vkey string
}

func (s logSigner) VerifierKey() string { return s.vkey }

// NewLogSigner returns the signer of a note signer key
// (PRIVATE+KEY+name+hash+base64(0x01 || Ed25519 seed)), as
// golang.org/x/mod's note.GenerateKey writes it, with its verifier key.
func NewLogSigner(skey string) (LogSigner, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("draw log: signing key: %w", err)
	}
	// The verifier key is derived from the seed, which note's signer does
	// not expose: PRIVATE+KEY+name+hash+base64(0x01 || seed).
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if len(parts) != 5 || err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, errors.New("draw log: signing key is not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("draw log: signing key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil || v.KeyHash() != signer.KeyHash() {
		return nil, errors.New("draw log: signing key's hash does not match its key")
	}
	return logSigner{Signer: signer, vkey: vkey}, nil
}

// logSigner returns the checkpoint signer: the configured one, or the key
// kept in the database, generated by whichever replica needed it first.
func (s *Service) logSigner(ctx context.Context) (LogSigner, bool, error) {
	l := s.log
	if l.err != nil {
		return nil, false, l.err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.signer != nil {
		return l.signer, l.generated, nil
	}
	skey, vkey, err := note.GenerateKey(s.opts.Random, l.opts.Origin)
	if err != nil {
		return nil, false, fmt.Errorf("draw log: generate a key: %w", err)
	}
	kp, err := s.store.EnsureLogKey(ctx, LogKeyPair{Signer: skey, Verifier: vkey})
	if err != nil {
		return nil, false, err
	}
	signer, err := NewLogSigner(kp.Signer)
	if err != nil {
		return nil, false, err
	}
	if signer.Name() != l.opts.Origin {
		return nil, false, fmt.Errorf("draw log: the key kept in the database is named %q, not for the origin %q", signer.Name(), l.opts.Origin)
	}
	l.signer, l.generated = signer, true
	return signer, true, nil
}

// header is the header of the giveaway's next log entry, from its draw row.
func header(d Draw) drawlog.Header {
	h := drawlog.Header{GiveawayID: d.GiveawayID, Seq: d.LogSeq}
	if d.LogLast != nil {
		prev := *d.LogLast
		h.Prev = &prev
	}
	return h
}

// sameHeader reports whether two headers are equal.
func sameHeader(a, b drawlog.Header) bool {
	return a.GiveawayID == b.GiveawayID && a.Seq == b.Seq && (a.Prev == nil) == (b.Prev == nil) && (a.Prev == nil || *a.Prev == *b.Prev)
}

// appendEntry appends e, the giveaway's next entry, in the transaction of
// q, and moves d on. The entry must carry the header of d's next entry.
func appendEntry(ctx context.Context, q Queries, d *Draw, e drawlog.Entry) (uint64, error) {
	if !sameHeader(e.Head(), header(*d)) {
		return 0, fmt.Errorf("giveaway %d: its %s entry has seq %d, but the draw stands at seq %d", d.GiveawayID, e.Type(), e.Head().Seq, d.LogSeq)
	}
	data, err := drawlog.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("giveaway %d: %w", d.GiveawayID, err)
	}
	idx, err := q.AppendLog(ctx, LogAppend{GiveawayID: d.GiveawayID, Type: e.Type(), Seq: d.LogSeq, Data: data})
	if err != nil {
		return 0, err
	}
	d.LogSeq++
	last := idx[0]
	d.LogLast = &last
	return last, nil
}

// commitEntry is the giveaway's commit entry. A v1 commitment made before
// draw times were whole seconds is logged at its second.
func commitEntry(d Draw) (drawlog.Entry, error) {
	if d.V2() {
		return d.Record.CommitEntry(header(d))
	}
	r := draw.Record{Version: draw.Version, GiveawayID: d.GiveawayID, Commitment: d.Commitment,
		CommittedAt: d.CommittedAt.UTC().Truncate(time.Second)}
	return r.CommitEntry(header(d))
}

// Checkpoint signs the log's current tree head and stores it. Ed25519 is
// deterministic, so replicas signing the same size store the same note.
func (s *Service) Checkpoint(ctx context.Context) (LogCheckpoint, error) {
	signer, _, err := s.logSigner(ctx)
	if err != nil {
		return LogCheckpoint{}, err
	}
	head, err := s.store.LogHead(ctx)
	if err != nil {
		return LogCheckpoint{}, err
	}
	signed, err := drawlog.SignCheckpoint(signer, s.log.opts.Origin, head.Size, head.Root)
	if err != nil {
		return LogCheckpoint{}, err
	}
	if err := s.store.SaveCheckpoint(ctx, head.Size, signed); err != nil {
		return LogCheckpoint{}, err
	}
	return LogCheckpoint{Size: head.Size, Note: signed}, nil
}

// LogCheckpoint returns the checkpoint the log serves. With witnesses
// configured, that is the latest stored one a quorum of them cosigned,
// with those cosignatures, as the draw protocol says: a checkpoint is
// stored the moment it is signed, before the witnesses are asked (and
// stays stored if they refuse it), so the latest stored one may be one
// they have not cosigned, or never will. Only while no checkpoint has a
// quorum (a new log, or witnesses that have never answered) is it the
// latest signed one, with whatever cosignatures it has: a client still
// gets a tree head to ask proofs under, and a verifier that pins the
// witnesses sees the quorum missing. Without witnesses it is the latest
// signed one; before the first one, a fresh checkpoint.
func (s *Service) LogCheckpoint(ctx context.Context) (LogCheckpoint, error) {
	if len(s.log.verifiers) > 0 {
		c, found, err := s.latestCosignedCheckpoint(ctx)
		if err != nil || found {
			return c, err
		}
	}
	return s.latestSignedCheckpoint(ctx)
}

// latestSignedCheckpoint returns the latest stored checkpoint with every
// cosignature gathered for it; before the first one, a fresh checkpoint.
func (s *Service) latestSignedCheckpoint(ctx context.Context) (LogCheckpoint, error) {
	c, err := s.store.LatestCheckpoint(ctx)
	if errors.Is(err, ErrNotFound) {
		return s.Checkpoint(ctx)
	}
	if err != nil {
		return LogCheckpoint{}, err
	}
	text, err := withSignatures(c.Note, c.Cosignatures)
	if err != nil {
		return LogCheckpoint{}, err
	}
	return LogCheckpoint{Size: c.Size, Note: text}, nil
}

// latestCosignedCheckpoint returns the latest stored checkpoint, signed by
// the log's current key, on which the cosignatures of a quorum of the
// configured witnesses verify, with those cosignatures. The store counts
// the witnesses by name; a checkpoint whose signatures do not verify (the
// log's or a witness's key replaced since) is passed over, up to
// checkpointsScanned of them.
func (s *Service) latestCosignedCheckpoint(ctx context.Context) (LogCheckpoint, bool, error) {
	l := s.log
	signer, _, err := s.logSigner(ctx)
	if err != nil {
		return LogCheckpoint{}, false, err
	}
	verifier, err := note.NewVerifier(signer.VerifierKey())
	if err != nil {
		return LogCheckpoint{}, false, fmt.Errorf("draw log: %w", err)
	}
	names := make([]string, len(l.verifiers))
	for i, v := range l.verifiers {
		names[i] = v.Name()
	}
	below := uint64(math.MaxUint64)
	for range checkpointsScanned {
		c, err := s.store.LatestCosignedCheckpoint(ctx, names, l.quorum(), below)
		if errors.Is(err, ErrNotFound) {
			return LogCheckpoint{}, false, nil
		}
		if err != nil {
			return LogCheckpoint{}, false, err
		}
		text, ok, err := s.quorumCosigned(c, verifier)
		if err != nil || ok {
			return LogCheckpoint{Size: c.Size, Note: text}, ok, err
		}
		below = c.Size
	}
	return LogCheckpoint{}, false, nil
}

// quorumCosigned returns the stored checkpoint's note with the
// cosignatures of the configured witnesses that verify on it, if it is
// signed by the log's key and they are a quorum.
func (s *Service) quorumCosigned(c StoredCheckpoint, log note.Verifier) (string, bool, error) {
	text, err := withSignatures(c.Note, c.Cosignatures)
	if err != nil {
		return "", false, err
	}
	_, n, err := drawlog.VerifyCheckpoint(text, log)
	if err != nil {
		return "", false, nil
	}
	cosigs, err := drawlog.VerifyCosignatures(n, s.log.verifiers, 0)
	if err != nil || len(cosigs) < s.log.quorum() {
		return "", false, err
	}
	sigs := make([]note.Signature, len(cosigs))
	for i, cs := range cosigs {
		sigs[i] = cs.Signature
	}
	text, err = withSignatures(c.Note, sigs)
	return text, err == nil, err
}

// withSignatures adds signature lines to a signed note.
func withSignatures(signed string, sigs []note.Signature) (string, error) {
	n, err := drawlog.OpenNote(signed)
	if err != nil {
		return "", err
	}
	return drawlog.AddSignatures(n, sigs...)
}

// PublishCheckpoint signs the current tree head and submits it to every
// witness, storing their cosignatures: for a background loop, so that
// witnesses follow the log between draws. Without witnesses it only signs.
func (s *Service) PublishCheckpoint(ctx context.Context) (LogAttestation, error) {
	if len(s.log.verifiers) == 0 {
		c, err := s.Checkpoint(ctx)
		return LogAttestation{Reason: "no witnesses are configured", TreeSize: c.Size}, err
	}
	head, err := s.store.LogHead(ctx)
	if err != nil {
		return LogAttestation{}, err
	}
	return s.Attest(ctx, head.Size, time.Time{})
}

// Attest returns a checkpoint covering the entries below minSize (so the
// entry at minSize-1) that a quorum of the witnesses cosigned at or before
// the deadline (a zero deadline: at any time). A stored checkpoint, with
// the cosignatures every replica gathered, is used when it has the quorum;
// otherwise the current tree head is signed and submitted to every witness
// with its consistency proof from the size that witness holds, under the
// log lock, so that replicas take turns. A witness's cosignature counts
// only if its own time is at or before the deadline. With no witnesses
// configured, or short of the quorum by the deadline, the result says not
// attested and why; an error is a failure of the store or the
// configuration.
func (s *Service) Attest(ctx context.Context, minSize uint64, deadline time.Time) (LogAttestation, error) {
	l := s.log
	if l.err != nil {
		return LogAttestation{}, l.err
	}
	if len(l.verifiers) == 0 {
		return LogAttestation{Reason: "no witnesses are configured"}, nil
	}
	best, err := s.timelyCheckpoint(ctx, minSize, deadline)
	if err != nil || best.Attested {
		return best, err
	}
	if !deadline.IsZero() && !s.opts.Now().Before(deadline) {
		return best, nil
	}
	lctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		lctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	var submitted error
	err = s.store.WithLogLock(lctx, func(lctx context.Context) error {
		got, err := s.timelyCheckpoint(lctx, minSize, deadline)
		if err != nil || got.Attested {
			best = got
			return err
		}
		submitted = s.submitCheckpoint(ctx, lctx)
		return nil
	})
	if best.Attested {
		return best, nil
	}
	if err != nil && lctx.Err() == nil {
		return LogAttestation{}, err
	}
	got, err := s.timelyCheckpoint(ctx, minSize, deadline)
	if err != nil || got.Attested {
		return got, err
	}
	if submitted != nil {
		got.Reason += "; the last submission: " + submitted.Error()
	}
	return got, nil
}

// submitCheckpoint signs the current tree head and submits it to the
// witnesses within sctx, then stores whatever cosignatures and witness
// sizes came back, within ctx.
func (s *Service) submitCheckpoint(ctx, sctx context.Context) error {
	c, err := s.Checkpoint(sctx)
	if err != nil {
		return err
	}
	known, err := s.store.WitnessSizes(sctx)
	if err != nil {
		return err
	}
	consistency := func(ctx context.Context, from, to uint64) ([][]byte, error) {
		p, err := s.store.LogConsistencyProof(ctx, from, to)
		if err != nil {
			return nil, err
		}
		out := make([][]byte, len(p))
		for i := range p {
			out[i] = p[i][:]
		}
		return out, nil
	}
	cosigner := s.log.opts.Cosigner
	_, cosigs, cosignErr := cosigner.Cosign(sctx, c.Note, c.Size, consistency, known)
	// Cosignatures and sizes are kept even when the quorum was missed: a
	// later call, or another replica, may complete it.
	sizes := cosigner.KnownSizes()
	sigs := make([]note.Signature, len(cosigs))
	for i, cs := range cosigs {
		sigs[i] = cs.Signature
		sizes[cs.Name] = max(sizes[cs.Name], c.Size)
	}
	if err := s.store.SaveCosignatures(context.WithoutCancel(ctx), c.Size, sigs); err != nil {
		return err
	}
	if err := s.store.SaveWitnessSizes(context.WithoutCancel(ctx), sizes); err != nil {
		return err
	}
	return cosignErr
}

// checkpointsScanned bounds the stored checkpoints Attest looks through.
const checkpointsScanned = 50

// timelyCheckpoint finds the smallest stored checkpoint of at least
// minSize, signed by the log's current key, that a quorum of witnesses
// cosigned by the deadline; when there is none, it says what came closest.
func (s *Service) timelyCheckpoint(ctx context.Context, minSize uint64, deadline time.Time) (LogAttestation, error) {
	l := s.log
	signer, _, err := s.logSigner(ctx)
	if err != nil {
		return LogAttestation{}, err
	}
	verifier, err := note.NewVerifier(signer.VerifierKey())
	if err != nil {
		return LogAttestation{}, fmt.Errorf("draw log: %w", err)
	}
	cs, err := s.store.Checkpoints(ctx, minSize, checkpointsScanned)
	if err != nil {
		return LogAttestation{}, err
	}
	quorum := l.quorum()
	best := LogAttestation{Reason: fmt.Sprintf("no witness cosigned a checkpoint of the log at size %d or more", minSize)}
	if !deadline.IsZero() {
		best.Reason += " by " + deadline.UTC().Format(time.RFC3339)
	}
	for _, c := range cs {
		if len(c.Cosignatures) == 0 {
			continue
		}
		text, err := withSignatures(c.Note, c.Cosignatures)
		if err != nil {
			return LogAttestation{}, err
		}
		_, n, err := drawlog.VerifyCheckpoint(text, verifier)
		if err != nil {
			// Signed by a key the log no longer uses.
			continue
		}
		cosigs, err := drawlog.VerifyCosignatures(n, l.verifiers, 0)
		if err != nil {
			return LogAttestation{}, err
		}
		var timely []note.Signature
		var late []string
		for _, cs := range cosigs {
			if !deadline.IsZero() && cs.Time.After(deadline) {
				late = append(late, fmt.Sprintf("%s at %s", cs.Name, cs.Time.Format(time.RFC3339)))
				continue
			}
			timely = append(timely, cs.Signature)
		}
		if len(timely) >= quorum {
			out, err := withSignatures(c.Note, timely)
			if err != nil {
				return LogAttestation{}, err
			}
			return LogAttestation{Attested: true, Checkpoint: out, TreeSize: c.Size, Cosigned: len(timely)}, nil
		}
		if len(timely) >= best.Cosigned {
			best = LogAttestation{Cosigned: len(timely), Reason: fmt.Sprintf("%d of %d witnesses cosigned the checkpoint of size %d in time, the quorum is %d",
				len(timely), len(l.verifiers), c.Size, quorum)}
			if !deadline.IsZero() {
				best.Reason = fmt.Sprintf("%d of %d witnesses cosigned the checkpoint of size %d by %s, the quorum is %d",
					len(timely), len(l.verifiers), c.Size, deadline.UTC().Format(time.RFC3339), quorum)
			}
			if len(late) > 0 {
				best.Reason += "; too late: " + strings.Join(late, ", ")
			}
		}
	}
	return best, nil
}

// LogKey returns the log's origin, its verifier key and the witnesses.
func (s *Service) LogKey(ctx context.Context) (LogKey, error) {
	signer, generated, err := s.logSigner(ctx)
	if err != nil {
		return LogKey{}, err
	}
	return LogKey{
		Origin:      s.log.opts.Origin,
		VerifierKey: signer.VerifierKey(),
		Generated:   generated,
		Witnesses:   slices.Clone(s.log.opts.Witnesses),
		Quorum:      s.log.quorum(),
	}, nil
}

// LogEntries returns the log's entries with indices in [start, end), at
// most MaxLogEntries; an end beyond the log is cut to its size.
func (s *Service) LogEntries(ctx context.Context, start, end uint64) ([]LogEntry, error) {
	var v Validation
	switch {
	case end < start:
		v.Add("end", CodeInvalidEnd, "end must not be below start")
	case end-start > MaxLogEntries:
		v.Add("end", CodeInvalidEnd, "at most %d entries are returned at once: end - start must be at most %d", MaxLogEntries, MaxLogEntries)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.store.LogEntries(ctx, start, end)
}

// GiveawayLog returns the giveaway's log entries, in log order.
func (s *Service) GiveawayLog(ctx context.Context, giveawayID int64) ([]LogEntry, error) {
	if !ValidID(giveawayID) {
		return nil, invalidID("giveaway_id")
	}
	return s.store.GiveawayLog(ctx, giveawayID)
}

// LogInclusionProof returns the RFC 6962 audit path of the entry at index
// in the tree of treeSize entries, leaf upwards. A treeSize beyond the
// log's size is refused with CodeTreeSizeNotReached, after the checks
// that make the request malformed whatever the log's size.
func (s *Service) LogInclusionProof(ctx context.Context, index, treeSize uint64) ([]drawlog.Hash, error) {
	var v Validation
	if treeSize < 1 {
		v.Add("tree_size", CodeInvalidTreeSize, "tree_size must be 1 or more")
	} else if index >= treeSize {
		v.Add("index", CodeInvalidIndex, "index must be below tree_size")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	head, err := s.store.LogHead(ctx)
	if err != nil {
		return nil, err
	}
	if treeSize > head.Size {
		return nil, treeSizeNotReached("tree_size", treeSize, head.Size)
	}
	return s.store.LogInclusionProof(ctx, index, treeSize)
}

// LogConsistencyProof returns the RFC 6962 consistency proof from tree
// size first to second, 1 <= first <= second. A second beyond the log's
// size is refused with CodeTreeSizeNotReached, after the checks that make
// the request malformed whatever the log's size.
func (s *Service) LogConsistencyProof(ctx context.Context, first, second uint64) ([]drawlog.Hash, error) {
	var v Validation
	if second < 1 {
		v.Add("second", CodeInvalidSecond, "second must be 1 or more")
	} else if first < 1 || first > second {
		v.Add("first", CodeInvalidFirst, "first must be between 1 and second")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	head, err := s.store.LogHead(ctx)
	if err != nil {
		return nil, err
	}
	if second > head.Size {
		return nil, treeSizeNotReached("second", second, head.Size)
	}
	return s.store.LogConsistencyProof(ctx, first, second)
}

// BackfillResult counts what BackfillLog logged.
type BackfillResult struct {
	// Legacy is the v1 records drawn before the log, each logged as a
	// legacy entry.
	Legacy int
	// Commits is the v1 draws committed but not drawn before the log,
	// each logged as a commit entry.
	Commits int
}

// backfillBatch is how many draws one backfill transaction logs.
const backfillBatch = 100

// BackfillLog logs every draw that has no log entry yet, once: a legacy
// entry (the SHA-256 of its record's canonical JSON) for each v1 record
// drawn before the log existed, and a commit entry for each draw committed
// but not drawn. Run it at start-up, after the migrations; it is
// idempotent and safe on several replicas at once, each batch locking the
// draws it logs and skipping those another replica is logging. (A draw or
// redraw of an unlogged draw logs its missing entry itself, so nothing
// waits for this.)
func (s *Service) BackfillLog(ctx context.Context) (BackfillResult, error) {
	var total BackfillResult
	for {
		var got BackfillResult
		n := 0
		err := s.store.InTx(ctx, func(q Queries) error {
			got, n = BackfillResult{}, 0
			ds, err := q.UnloggedDraws(ctx, backfillBatch)
			if err != nil {
				return err
			}
			n = len(ds)
			batch := make([]LogAppend, 0, len(ds))
			for _, d := range ds {
				var e drawlog.Entry
				switch {
				case d.Status == DrawDrawn && !d.V2():
					e, err = legacyEntry(d, header(d))
					got.Legacy++
				case d.Status == DrawCommitted:
					e, err = commitEntry(d)
					got.Commits++
				default:
					return fmt.Errorf("giveaway %d: a %s draw with status %s has no log entry", d.GiveawayID, d.Version, d.Status)
				}
				if err != nil {
					return fmt.Errorf("giveaway %d: %w", d.GiveawayID, err)
				}
				data, err := drawlog.Marshal(e)
				if err != nil {
					return fmt.Errorf("giveaway %d: %w", d.GiveawayID, err)
				}
				batch = append(batch, LogAppend{GiveawayID: d.GiveawayID, Type: e.Type(), Seq: 0, Data: data})
			}
			_, err = q.AppendLog(ctx, batch...)
			return err
		})
		if err != nil {
			return total, err
		}
		total.Legacy += got.Legacy
		total.Commits += got.Commits
		if n < backfillBatch {
			return total, nil
		}
	}
}
