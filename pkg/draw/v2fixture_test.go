package draw_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"filippo.io/torchwood"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// quicknetRounds are real beacons of drand's quicknet, from its public
// relays.
var quicknetRounds = map[uint64]string{
	1000:     "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39",
	12040883: "929906c959032ab363c9f26570d215d66f5c06cb0c44fe508c12bb5839f04ec895bb6868e5b9ff13ab289bdb5266b394",
	32281667: "b0f5ae301358ff87a9d3dd539ed4a07c0148b1ab4f7b61a8ca43c7e9ca7ca9553e4faae9188deb30b2cd1a7f447e3e5b",
	32285085: "81dbce51d584d90d618547f4b50391d53ace6f6b9aeb8fb67e1879427af9d0310ac0ec6f519271d9a313ee84b378d416",
	32285086: "a64d99fd7fa3e48912be7209c7b69c72c88fc5224be2516949b6f29f3a4b7e3fa069dd58b2bbb4bf2c34ae61ef631a44",
}

func quicknetSig(t testing.TB, round uint64) []byte {
	t.Helper()
	s, ok := quicknetRounds[round]
	if !ok {
		t.Fatalf("no quicknet beacon of round %d", round)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The test keys of the draw log. Their private halves are public on
// purpose: they sign test vectors and nothing else.
const (
	testOrigin = "telegive.org/participant-service/draw-log"
	// testLogKey is the log key of pkg/drawlog's vectors (Ed25519 seed 0x07 * 32).
	testLogKey  = "PRIVATE+KEY+telegive.org/participant-service/draw-log+8e9dea39+AQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH"
	testLogVKey = "telegive.org/participant-service/draw-log+8e9dea39+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
)

// A timedCosigner makes cosignature/v1 lines with a chosen time, as a
// witness whose clock reads that time would.
type timedCosigner struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
	at   time.Time
}

func (c timedCosigner) Name() string    { return c.name }
func (c timedCosigner) KeyHash() uint32 { return c.hash }
func (c timedCosigner) Sign(msg []byte) ([]byte, error) {
	ts := uint64(c.at.Unix())
	sig := ed25519.Sign(c.key, fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", ts, msg))
	return append(binary.BigEndian.AppendUint64(nil, ts), sig...), nil
}

// testWitness is a witness whose Ed25519 seed is the byte b repeated.
type testWitness struct {
	name string
	key  ed25519.PrivateKey
	vkey string
}

func newTestWitness(t testing.TB, name string, b byte) testWitness {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = b
	}
	key := ed25519.NewKeyFromSeed(seed)
	s, err := torchwood.NewCosignatureSigner(name, key)
	if err != nil {
		t.Fatal(err)
	}
	return testWitness{name: name, key: key, vkey: s.Verifier().String()}
}

func (w testWitness) at(t testing.TB, ts time.Time) timedCosigner {
	v, err := drawlog.NewWitnessVerifier(w.vkey)
	if err != nil {
		t.Fatal(err)
	}
	return timedCosigner{name: w.name, hash: v.KeyHash(), key: w.key, at: ts}
}

// testLog is an in-memory draw log.
type testLog struct {
	t       testing.TB
	tree    *testonly.Tree
	entries map[uint64][]byte
}

func newTestLog(t testing.TB) *testLog {
	return &testLog{t: t, tree: testonly.New(rfc6962.DefaultHasher), entries: map[uint64][]byte{}}
}

func (l *testLog) append(e drawlog.Entry, err error) uint64 {
	l.t.Helper()
	if err != nil {
		l.t.Fatal(err)
	}
	b, err := drawlog.Marshal(e)
	if err != nil {
		l.t.Fatal(err)
	}
	i := l.tree.Size()
	l.tree.AppendData(b)
	l.entries[i] = b
	return i
}

// filler appends another giveaway's commit, so that the giveaway's
// indices are not consecutive.
func (l *testLog) filler(giveawayID int64) {
	l.t.Helper()
	l.append(drawlog.Commit{Header: drawlog.Header{GiveawayID: giveawayID}, Commitment: sha256.Sum256([]byte("filler")),
		Version: drawlog.VersionV1, MaxTickets: 1, CommittedAt: time.Unix(1700000000, 0).UTC()}, nil)
}

// attest returns the attestation of entry index under a checkpoint of the
// whole log, signed by the log and cosigned by the witnesses at the given
// times.
func (l *testLog) attest(index uint64, cosigners ...note.Signer) *draw.Attestation {
	l.t.Helper()
	size := l.tree.Size()
	var root drawlog.Hash
	copy(root[:], l.tree.HashAt(size))
	body := drawlog.Checkpoint{Origin: testOrigin, Size: size, Root: root}.Body()
	logSigner, err := note.NewSigner(testLogKey)
	if err != nil {
		l.t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: body}, append([]note.Signer{logSigner}, cosigners...)...)
	if err != nil {
		l.t.Fatal(err)
	}
	proof, err := l.tree.InclusionProof(index, size)
	if err != nil {
		l.t.Fatal(err)
	}
	a := &draw.Attestation{Checkpoint: string(signed), LeafIndex: index, TreeSize: size, AuditPath: []draw.Hash{}}
	for _, p := range proof {
		a.AuditPath = append(a.AuditPath, draw.Hash(p))
	}
	return a
}

// v2Spec describes a v2 draw on quicknet.
type v2Spec struct {
	name       string
	giveawayID int64
	ids        []int64
	tickets    []uint64 // nil: one each
	maxTickets uint64
	k          uint64
	delay      uint64
	// drawRound is the quicknet round of the draw; with no entrants it
	// only places the freeze, at its time minus the delay.
	drawRound uint64
	rounds    []v2RoundSpec
	attest    bool
}

type v2RoundSpec struct {
	// positions are the current winners' positions to disqualify.
	positions []int
	reasons   []draw.Reason
	round     uint64
}

// v2Input is everything a v2 draw is computed from, as the vector file
// lists it.
type v2Input struct {
	ServerSeed  draw.HexBytes `json:"server_seed"`
	GiveawayID  int64         `json:"giveaway_id"`
	UserIDs     []int64       `json:"user_ids"`
	Tickets     []uint64      `json:"tickets"`
	MaxTickets  uint64        `json:"max_tickets"`
	BeaconDelay uint64        `json:"beacon_delay"`
	WinnerCount uint64        `json:"winner_count"`
	CommittedAt time.Time     `json:"committed_at"`
	FrozenAt    time.Time     `json:"frozen_at"`
	DrawnAt     time.Time     `json:"drawn_at"`
	// Beacon is the draw's beacon; nil when there are no entrants.
	Beacon *beaconInput `json:"beacon"`
	// Attested says whether the freeze and each redraw request are
	// cosigned by the two test witnesses (see the file's comment).
	Attested     bool            `json:"attested"`
	Redraws      []v2RedrawInput `json:"redraws"`
	ProofUserIDs []int64         `json:"proof_user_ids"`
}

type beaconInput struct {
	Round     uint64        `json:"round"`
	Signature draw.HexBytes `json:"signature"`
}

type v2RedrawInput struct {
	Disqualified []draw.Disqualification `json:"disqualified"`
	RequestedAt  time.Time               `json:"requested_at"`
	RedrawnAt    time.Time               `json:"redrawn_at"`
	Beacon       beaconInput             `json:"beacon"`
}

// v2Built is a v2 draw carried out, with the evidence a verifier may get.
type v2Built struct {
	spec      v2Spec
	in        v2Input
	committed draw.Record
	frozen    draw.Record
	record    draw.Record
	tree      *draw.SumTree
	log       *testLog
	logOrder  []uint64           // the giveaway's entries' log indices
	opts      draw.VerifyOptions // every key, the list, log entries
	witnesses []testWitness
}

func v2ServerSeed(name string) []byte {
	s := sha256.Sum256([]byte("telegive-draw-v2 test vector " + name))
	return s[:]
}

func testKeys(t testing.TB, witnesses []testWitness) draw.VerifyOptions {
	t.Helper()
	lv, err := drawlog.NewLogVerifier(testLogVKey)
	if err != nil {
		t.Fatal(err)
	}
	opts := draw.VerifyOptions{LogKey: lv}
	for _, w := range witnesses {
		v, err := drawlog.NewWitnessVerifier(w.vkey)
		if err != nil {
			t.Fatal(err)
		}
		opts.Witnesses = append(opts.Witnesses, v)
	}
	return opts
}

func testWitnesses(t testing.TB) []testWitness {
	return []testWitness{newTestWitness(t, "witness.example/one", 0x21), newTestWitness(t, "witness.example/two", 0x22)}
}

// computeV2 runs the whole v2 protocol on quicknet from in: commit, freeze,
// draw and each redraw round, each event logged. The log holds another
// giveaway's entry before the commit and after the freeze. When
// in.Attested, the freeze is cosigned by the first witness at the last
// second allowed (beacon round's time - 3 s) and by the second a second
// earlier, and each redraw request by the first two seconds before its
// deadline and by the second at it, each under a checkpoint of the whole
// log as it then stands.
func computeV2(t testing.TB, in v2Input) v2Built {
	t.Helper()
	qn := beacon.Quicknet()
	b := v2Built{in: in, log: newTestLog(t), witnesses: testWitnesses(t)}
	rec, err := draw.Commit(draw.CommitInput{GiveawayID: in.GiveawayID, ServerSeed: in.ServerSeed, CommittedAt: in.CommittedAt,
		Chain: qn, BeaconDelay: in.BeaconDelay, MaxTickets: in.MaxTickets})
	if err != nil {
		t.Fatal(err)
	}
	b.log.filler(in.GiveawayID + 1000)
	logged := func(typ drawlog.Type, index uint64) {
		rec.Log = append(rec.Log, draw.LogRef{Type: typ, Index: index})
		b.logOrder = append(b.logOrder, index)
	}
	logged(drawlog.TypeCommit, b.log.append(rec.CommitEntry(rec.LogHeader(0))))
	b.committed = rec

	if b.tree, err = draw.NewSumTree(in.UserIDs, in.Tickets); err != nil {
		t.Fatal(err)
	}
	rec, err = rec.Freeze(draw.FreezeInput{Entrants: b.tree, WinnerCount: in.WinnerCount, FrozenAt: in.FrozenAt, Chain: qn})
	if err != nil {
		t.Fatal(err)
	}
	freezeIndex := b.log.append(rec.FreezeEntry(rec.LogHeader(1)))
	logged(drawlog.TypeFreeze, freezeIndex)
	b.log.filler(in.GiveawayID + 2000)
	if in.Attested {
		deadline := qn.RoundTime(rec.BeaconRound).Add(-draw.CosignatureMargin)
		rec.FreezeAttested = true
		rec.FreezeAttestation = b.log.attest(freezeIndex, b.witnesses[0].at(t, deadline), b.witnesses[1].at(t, deadline.Add(-time.Second)))
	}
	b.frozen = rec

	var sig []byte
	if in.Beacon != nil {
		if in.Beacon.Round != rec.BeaconRound {
			t.Fatalf("the input's beacon is round %d, the freeze's round is %d", in.Beacon.Round, rec.BeaconRound)
		}
		sig = in.Beacon.Signature
	}
	rec, err = rec.DrawWinners(draw.DrawInput{ServerSeed: in.ServerSeed, Entrants: b.tree, BeaconSignature: sig, DrawnAt: in.DrawnAt, Chain: qn})
	if err != nil {
		t.Fatal(err)
	}
	logged(drawlog.TypeDraw, b.log.append(rec.DrawEntry(rec.LogHeader(2))))

	for n, ri := range in.Redraws {
		req, err := rec.RequestRedraw(ri.Disqualified, ri.RequestedAt, qn)
		if err != nil {
			t.Fatalf("round %d: %v", n+1, err)
		}
		if req.BeaconRound != ri.Beacon.Round {
			t.Fatalf("round %d: the input's beacon is round %d, the request's %d", n+1, ri.Beacon.Round, req.BeaconRound)
		}
		reqIndex := b.log.append(req.RequestEntry(rec.LogHeader(len(rec.Log))))
		logged(drawlog.TypeRedrawRequest, reqIndex)
		if in.Attested {
			deadline := qn.RoundTime(req.BeaconRound).Add(-draw.CosignatureMargin)
			req.RequestAttestation = b.log.attest(reqIndex, b.witnesses[0].at(t, deadline.Add(-2*time.Second)), b.witnesses[1].at(t, deadline))
		}
		rd, err := rec.CompleteRedraw(req, draw.RedrawInput{Entrants: b.tree, BeaconSignature: ri.Beacon.Signature, RedrawnAt: ri.RedrawnAt, Chain: qn})
		if err != nil {
			t.Fatalf("round %d: %v", n+1, err)
		}
		rec.Replacements = append(rec.Replacements, rd)
		logged(drawlog.TypeRedraw, b.log.append(rec.RedrawEntry(rec.LogHeader(len(rec.Log)), n+1)))
	}
	b.record = rec
	b.opts = testKeys(t, b.witnesses)
	b.opts.Entrants, b.opts.Tickets = in.UserIDs, in.Tickets
	b.opts.LogEntries = map[uint64][]byte{}
	for _, i := range b.logOrder {
		b.opts.LogEntries[i] = b.log.entries[i]
	}
	return b
}

// buildV2 turns s into inputs and computes them: the freeze at the draw
// round's time minus the delay, so that it is the first round after it, the
// draw at that round's time, and each redraw requested at its round's time
// minus the delay and drawn at the round's time; each round's positions
// resolved to the winners holding them.
func buildV2(t testing.TB, s v2Spec) v2Built {
	t.Helper()
	qn := beacon.Quicknet()
	frozenAt := qn.RoundTime(s.drawRound).Add(-time.Duration(s.delay) * time.Second)
	in := v2Input{ServerSeed: v2ServerSeed(s.name), GiveawayID: s.giveawayID, UserIDs: s.ids, Tickets: s.tickets,
		MaxTickets: s.maxTickets, BeaconDelay: s.delay, WinnerCount: s.k, CommittedAt: frozenAt.Add(-time.Hour),
		FrozenAt: frozenAt, DrawnAt: frozenAt, Attested: s.attest, Redraws: []v2RedrawInput{}}
	if len(s.ids) > 0 {
		in.Beacon = &beaconInput{Round: s.drawRound, Signature: quicknetSig(t, s.drawRound)}
		in.DrawnAt = qn.RoundTime(s.drawRound)
	}
	b := computeV2(t, in)
	for _, rs := range s.rounds {
		var dq []draw.Disqualification
		for _, w := range b.record.CurrentWinners() {
			if i := slices.Index(rs.positions, w.Position); i >= 0 {
				dq = append(dq, draw.Disqualification{UserID: w.UserID, Reason: rs.reasons[i%len(rs.reasons)]})
			}
		}
		if len(dq) == 0 {
			break // every position is empty: nobody left to disqualify
		}
		in.Redraws = append(in.Redraws, v2RedrawInput{Disqualified: dq, RequestedAt: qn.RoundTime(rs.round).Add(-time.Duration(s.delay) * time.Second),
			RedrawnAt: qn.RoundTime(rs.round), Beacon: beaconInput{Round: rs.round, Signature: quicknetSig(t, rs.round)}})
		b = computeV2(t, in)
	}
	b.spec = s
	return b
}

// proofs returns the proofs of every claim of the record and of one loser.
func (b v2Built) proofs(t testing.TB) []draw.Proof {
	t.Helper()
	var out []draw.Proof
	seen := map[int64]bool{}
	add := func(id int64) {
		if seen[id] {
			return
		}
		seen[id] = true
		p, err := b.record.TicketProof(b.tree, id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	for _, c := range b.record.Claims() {
		add(c.UserID)
	}
	for _, id := range b.in.UserIDs {
		if !seen[id] {
			add(id)
			break
		}
	}
	return out
}

// v2Fixture is a medium draw with mixed tickets, attested, with two redraw
// rounds, the second leaving a position empty.
func v2Fixture(t testing.TB) v2Built {
	ids, tickets := ticketList(6, 4, 99)
	return buildV2(t, v2Spec{
		name: "fixture", giveawayID: 4242, ids: ids, tickets: tickets, maxTickets: 4, k: 3, delay: 10,
		drawRound: 12040883, attest: true,
		rounds: []v2RoundSpec{
			{positions: []int{2}, reasons: []draw.Reason{draw.ReasonFraud}, round: 32281667},
			{positions: []int{1, 2, 3}, reasons: []draw.Reason{draw.ReasonNotSubscribed, draw.ReasonDeclined}, round: 32285085},
		},
	})
}
