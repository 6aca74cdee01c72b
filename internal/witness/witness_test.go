package witness_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/witness"
	"github.com/telegive/participant-service/internal/witness/witnesstest"
	"github.com/telegive/participant-service/pkg/drawlog"
)

const origin = "telegive.org/participant-service/draw-log"

// attempts records OnAttempt calls.
type attempts struct {
	mu   sync.Mutex
	list []string
}

func (a *attempts) record(w string, o witness.Outcome, _ time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, w+" "+string(o))
}

func (a *attempts) of(w string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, s := range a.list {
		if name, o, _ := strings.Cut(s, " "); name == w {
			out = append(out, o)
		}
	}
	return out
}

type setup struct {
	log       *witnesstest.Log
	witnesses []*witnesstest.Witness
	client    *witness.Client
	attempts  *attempts
}

func newSetup(t *testing.T, n, quorum int) *setup {
	t.Helper()
	s := &setup{log: witnesstest.NewLog(t, origin), attempts: &attempts{}}
	s.client = &witness.Client{Quorum: quorum, Timeout: 5 * time.Second, OnAttempt: s.attempts.record}
	for i := range n {
		w := witnesstest.New(t, "witness.example/w"+string(rune('1'+i)), origin, s.log.VerifierKey())
		s.witnesses = append(s.witnesses, w)
		s.client.Witnesses = append(s.client.Witnesses, witness.Witness{URL: w.URL(), Verifier: w.Verifier()})
	}
	return s
}

func (s *setup) cosign(t *testing.T, ctx context.Context) (string, []drawlog.Cosignature, error) {
	t.Helper()
	return s.client.Cosign(ctx, s.log.Checkpoint(t), s.log.Size(), s.log.Consistency, nil)
}

func names(cs []drawlog.Cosignature) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// verifyNote checks the cosigned note as a verifier would, with every
// configured witness key.
func verifyNote(t *testing.T, s *setup, cosigned string, quorum int) []string {
	t.Helper()
	lv, err := drawlog.NewLogVerifier(s.log.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	_, n, err := drawlog.VerifyCheckpoint(cosigned, lv)
	if err != nil {
		t.Fatal(err)
	}
	var ws []note.Verifier
	for _, w := range s.witnesses {
		v, err := drawlog.NewWitnessVerifier(w.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, v)
	}
	got, err := drawlog.VerifyCosignatures(n, ws, quorum)
	if err != nil {
		t.Fatalf("the cosigned note: %v\n%s", err, cosigned)
	}
	return names(got)
}

func TestQuorumWithOneWitnessDown(t *testing.T) {
	s := newSetup(t, 3, 2)
	s.witnesses[2].SetMode(witnesstest.Down)
	s.log.AppendN(5, "entry")
	cosigned, cosigs, err := s.cosign(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"witness.example/w1", "witness.example/w2"}
	if got := names(cosigs); !slices.Equal(got, want) {
		t.Errorf("cosignatures from %v, want %v", got, want)
	}
	if got := verifyNote(t, s, cosigned, 2); !slices.Equal(got, want) {
		t.Errorf("the note carries cosignatures of %v, want %v", got, want)
	}
	// w3 fails at once, or is canceled if the quorum came first.
	if got := s.attempts.of("witness.example/w3"); len(got) != 1 || got[0] != "error" && got[0] != "canceled" {
		t.Errorf("w3's attempts %v, want one error", got)
	}
	if got := s.client.KnownSizes(); got["witness.example/w1"] != 5 || got["witness.example/w2"] != 5 || len(got) != 2 {
		t.Errorf("KnownSizes = %v, want w1 and w2 at 5", got)
	}

	// All three needed: the error says how many of how many.
	s.client.Quorum = 3
	s.log.AppendN(2, "more")
	cosigned, cosigs, err = s.cosign(t, context.Background())
	var qe *drawlog.QuorumError
	if !errors.As(err, &qe) || *qe != (drawlog.QuorumError{Cosigned: 2, Witnesses: 3, Quorum: 3}) {
		t.Fatalf("Cosign with quorum 3 = %v, want 2 of 3", err)
	}
	if !strings.Contains(err.Error(), "2 of 3 witnesses cosigned, quorum is 3") || !strings.Contains(err.Error(), "witness.example/w3: error") {
		t.Errorf("error %q does not say how many and why", err)
	}
	if len(cosigs) != 2 || !strings.Contains(cosigned, "— witness.example/w2 ") {
		t.Errorf("short of the quorum: %v and\n%s; want the two cosignatures kept", names(cosigs), cosigned)
	}
	if got := s.attempts.of("witness.example/w3"); len(got) != 2 || got[1] != "error" {
		t.Errorf("w3's attempts %v, want an error the second time", got)
	}
}

func TestForkRefusingWitnessIsNotCounted(t *testing.T) {
	// A quorum of all three, so that w1's answer is waited for.
	s := newSetup(t, 3, 3)
	s.log.AppendN(5, "entry")
	// Only w1 sees the log as it was.
	first := &witness.Client{Witnesses: s.client.Witnesses[:1]}
	if _, _, err := first.Cosign(context.Background(), s.log.Checkpoint(t), 5, s.log.Consistency, nil); err != nil {
		t.Fatal(err)
	}
	// The log is rewritten from entry 3 on and grows to 8.
	fork := s.log.Fork(3)
	fork.AppendN(5, "rewritten")
	cosigned, cosigs, err := s.client.Cosign(context.Background(), fork.Checkpoint(t), 8, fork.Consistency, nil)
	var qe *drawlog.QuorumError
	if !errors.As(err, &qe) || qe.Cosigned != 2 || !strings.Contains(err.Error(), "witness.example/w1: bad proof") {
		t.Fatalf("Cosign of the fork = %v, want 2 of 3 with w1 refusing the proof", err)
	}
	want := []string{"witness.example/w2", "witness.example/w3"}
	if got := names(cosigs); !slices.Equal(got, want) {
		t.Errorf("cosignatures from %v, want %v: w1 refuses the fork", got, want)
	}
	if strings.Contains(cosigned, "witness.example/w1") {
		t.Errorf("the note carries a line of w1:\n%s", cosigned)
	}
	if got := s.attempts.of("witness.example/w1"); !slices.Equal(got, []string{"conflict", "bad_proof"}) {
		t.Errorf("w1's attempts %v, want a conflict (it holds 5) then a bad proof", got)
	}
	if size, _ := s.witnesses[0].Latest(origin); size != 5 {
		t.Errorf("w1 moved to size %d", size)
	}

	// A rewrite of the same size is a conflict the client does not retry.
	same := s.log.Fork(3)
	same.AppendN(2, "rewritten")
	_, cosigs, err = first.Cosign(context.Background(), same.Checkpoint(t), 5, same.Consistency, nil)
	if err == nil || len(cosigs) != 0 || !strings.Contains(err.Error(), "different tree of size 5") {
		t.Errorf("a same-size fork: %v, %v; want a conflict", names(cosigs), err)
	}
}

func TestConflictResync(t *testing.T) {
	s := newSetup(t, 1, 1)
	w := s.witnesses[0]
	s.log.AppendN(5, "entry")
	if _, _, err := s.cosign(t, context.Background()); err != nil {
		t.Fatal(err)
	}
	// A client that does not know the witness's size, as after a restart.
	s.log.AppendN(4, "more")
	fresh := &witness.Client{Witnesses: s.client.Witnesses}
	_, cosigs, err := fresh.Cosign(context.Background(), s.log.Checkpoint(t), 9, s.log.Consistency, nil)
	if err != nil || len(cosigs) != 1 {
		t.Fatalf("Cosign after a 409 = %v, %v", names(cosigs), err)
	}
	var olds []uint64
	var statuses []int
	for _, r := range w.Requests() {
		olds, statuses = append(olds, r.OldSize), append(statuses, r.Status)
	}
	if !slices.Equal(olds, []uint64{0, 0, 5}) || !slices.Equal(statuses, []int{200, 409, 200}) {
		t.Errorf("requests from old sizes %v with answers %v, want [0 0 5] [200 409 200]", olds, statuses)
	}
	if got := fresh.KnownSizes()[w.Name()]; got != 9 {
		t.Errorf("KnownSizes()[w1] = %d, want 9", got)
	}

	// A stored size saves the round trip.
	s.log.AppendN(1, "last")
	stored := &witness.Client{Witnesses: s.client.Witnesses}
	if _, _, err := stored.Cosign(context.Background(), s.log.Checkpoint(t), 10, s.log.Consistency, map[string]uint64{w.Name(): 9}); err != nil {
		t.Fatal(err)
	}
	if reqs := w.Requests(); len(reqs) != 4 || reqs[3].OldSize != 9 || len(reqs[3].Proof) == 0 {
		t.Errorf("with the stored size: requests %+v, want one from 9 with a proof", reqs[3:])
	}
}

func TestBadCosignaturesAreNotCounted(t *testing.T) {
	s := newSetup(t, 3, 1)
	s.witnesses[1].SetMode(witnesstest.BadSignature)
	// w3 answers honestly, but the client holds another key for it.
	impostor := witnesstest.New(t, "witness.example/w3", origin, s.log.VerifierKey())
	s.client.Witnesses[2].Verifier = impostor.Verifier()
	s.log.AppendN(3, "entry")

	s.client.Quorum = 3
	cosigned, cosigs, err := s.cosign(t, context.Background())
	var qe *drawlog.QuorumError
	if !errors.As(err, &qe) || qe.Cosigned != 1 {
		t.Fatalf("Cosign = %v, want 1 of 3", err)
	}
	if got := names(cosigs); !slices.Equal(got, []string{"witness.example/w1"}) {
		t.Errorf("cosignatures from %v, want w1 alone", got)
	}
	for _, w := range []string{"witness.example/w2", "witness.example/w3"} {
		if got := s.attempts.of(w); !slices.Equal(got, []string{"bad_cosignature"}) {
			t.Errorf("%s's attempts %v, want a bad cosignature", w, got)
		}
		if strings.Contains(cosigned, "— "+w+" ") {
			t.Errorf("the note carries an unverified line of %s:\n%s", w, cosigned)
		}
	}
	if _, ok := s.client.KnownSizes()["witness.example/w2"]; ok {
		t.Error("a witness whose cosignature failed counts as having cosigned the size")
	}
}

func TestTimeoutsAreBounded(t *testing.T) {
	s := newSetup(t, 3, 2)
	for _, w := range s.witnesses {
		w.SetMode(witnesstest.Slow(time.Minute))
	}
	s.log.AppendN(2, "entry")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, cosigs, err := s.cosign(t, ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Cosign took %v past a 300ms deadline", took)
	}
	if err == nil || len(cosigs) != 0 || !strings.Contains(err.Error(), "0 of 3 witnesses cosigned") {
		t.Errorf("Cosign = %v, %v; want 0 of 3", names(cosigs), err)
	}
	if got := s.attempts.of("witness.example/w1"); !slices.Equal(got, []string{"timeout"}) {
		t.Errorf("w1's attempts %v, want a timeout", got)
	}

	// A per-request timeout leaves the slow witness out, and the quorum of
	// the others is enough.
	s.witnesses[1].SetMode(witnesstest.Honest)
	s.witnesses[2].SetMode(witnesstest.Honest)
	s.client.Timeout = 200 * time.Millisecond
	start = time.Now()
	_, cosigs, err = s.cosign(t, context.Background())
	if err != nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Cosign = %v after %v", err, time.Since(start))
	}
	if got := names(cosigs); !slices.Equal(got, []string{"witness.example/w2", "witness.example/w3"}) {
		t.Errorf("cosignatures from %v, want w2 and w3", got)
	}
}

func TestQuorumReachedCancelsTheRest(t *testing.T) {
	s := newSetup(t, 3, 2)
	s.witnesses[2].SetMode(witnesstest.Slow(time.Minute))
	s.log.AppendN(2, "entry")
	start := time.Now()
	_, cosigs, err := s.cosign(t, context.Background())
	if err != nil || len(cosigs) != 2 || time.Since(start) > 3*time.Second {
		t.Fatalf("Cosign = %v, %v after %v; want w1 and w2 at once", names(cosigs), err, time.Since(start))
	}
	if got := s.attempts.of("witness.example/w3"); !slices.Equal(got, []string{"canceled"}) {
		t.Errorf("w3's attempts %v, want canceled", got)
	}
}

func TestWitnessTimeIsTheWitnessClock(t *testing.T) {
	s := newSetup(t, 2, 2)
	lie := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	s.witnesses[1].SetClock(func() time.Time { return lie })
	s.log.AppendN(1, "entry")
	_, cosigs, err := s.cosign(t, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !cosigs[1].Time.Equal(lie) || time.Since(cosigs[0].Time) > time.Minute {
		t.Errorf("cosignature times %v and %v, want now and %v", cosigs[0].Time, cosigs[1].Time, lie)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	s := newSetup(t, 1, 1)
	target := s.witnesses[0]
	redirect := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, target.URL()+"/add-checkpoint", http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	s.client.Witnesses[0].URL = redirect.URL
	s.client.HTTPClient = &http.Client{} // follows redirects by default
	s.log.AppendN(1, "entry")
	_, cosigs, err := s.cosign(t, context.Background())
	if err == nil || len(cosigs) != 0 || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("Cosign through a redirect = %v, %v; want it refused", names(cosigs), err)
	}
	if n := len(target.Requests()); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
	if s.client.HTTPClient.CheckRedirect != nil {
		t.Error("Cosign changed the caller's HTTP client")
	}
}

func TestCosignRefusesBadInput(t *testing.T) {
	s := newSetup(t, 1, 1)
	s.log.AppendN(2, "entry")
	if _, _, err := s.client.Cosign(context.Background(), s.log.Checkpoint(t), 3, s.log.Consistency, nil); err == nil {
		t.Error("a size that is not the checkpoint's was accepted")
	}
	if _, _, err := (&witness.Client{}).Cosign(context.Background(), s.log.Checkpoint(t), 2, s.log.Consistency, nil); !errors.Is(err, witness.ErrNoWitnesses) {
		t.Errorf("no witnesses: %v", err)
	}
	s.client.Quorum = 2
	if _, _, err := s.cosign(t, context.Background()); err == nil {
		t.Error("a quorum above the witnesses was accepted")
	}
}

func TestParseWitnesses(t *testing.T) {
	s := newSetup(t, 2, 0)
	ws, err := witness.ParseWitnesses(
		[]string{s.witnesses[0].URL(), s.witnesses[1].URL()},
		[]string{s.witnesses[0].VerifierKey(), s.witnesses[1].VerifierKey()})
	if err != nil {
		t.Fatal(err)
	}
	if ws[1].URL != s.witnesses[1].URL() || ws[1].Verifier.Name() != "witness.example/w2" || ws[1].Verifier.KeyHash() != s.witnesses[1].Verifier().KeyHash() {
		t.Errorf("ParseWitnesses = %+v", ws)
	}
	for name, tc := range map[string][2][]string{
		"counts differ": {{"https://a.example"}, {}},
		"not a URL":     {{"a.example"}, {s.witnesses[0].VerifierKey()}},
		"a log key":     {{"https://a.example"}, {s.log.VerifierKey()}},
		"same name twice": {{"https://a.example", "https://b.example"},
			{s.witnesses[0].VerifierKey(), s.witnesses[0].VerifierKey()}},
	} {
		if _, err := witness.ParseWitnesses(tc[0], tc[1]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
