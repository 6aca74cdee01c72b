package witnesstest_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/witness/witnesstest"
	"github.com/telegive/participant-service/pkg/drawlog"
)

const origin = "telegive.org/participant-service/draw-log"

type answer struct {
	status int
	ctype  string
	body   string
}

func post(t *testing.T, w *witnesstest.Witness, body string) answer {
	t.Helper()
	resp, err := http.Post(w.URL()+"/add-checkpoint", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

func request(t *testing.T, l *witnesstest.Log, old uint64) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "old %d\n", old)
	if old > 0 && old < l.Size() {
		proof, err := l.Consistency(context.Background(), old, l.Size())
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range proof {
			b.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
		}
	}
	b.WriteString("\n" + l.Checkpoint(t))
	return b.String()
}

// cosignature verifies a 200 answer against the witness's key.
func cosignature(t *testing.T, w *witnesstest.Witness, l *witnesstest.Log, a answer) drawlog.Cosignature {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("answer %d %q, want 200", a.status, a.body)
	}
	_, n, err := drawlog.VerifyCheckpoint(l.Checkpoint(t)+a.body, mustLogVerifier(t, l.VerifierKey()))
	if err != nil {
		t.Fatal(err)
	}
	v, err := drawlog.NewWitnessVerifier(w.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	got, err := drawlog.VerifyCosignatures(n, []note.Verifier{v}, 1)
	if err != nil {
		t.Fatalf("the witness's answer %q: %v", a.body, err)
	}
	return got[0]
}

func mustLogVerifier(t *testing.T, vkey string) note.Verifier {
	t.Helper()
	v, err := drawlog.NewLogVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCosignsAndFollowsTheLog(t *testing.T) {
	l := witnesstest.NewLog(t, origin)
	w := witnesstest.New(t, "witness.example/w1", origin, l.VerifierKey())
	l.AppendN(5, "a")
	before := time.Now().Add(-time.Second)
	c := cosignature(t, w, l, post(t, w, request(t, l, 0)))
	if c.Name != w.Name() || c.Time.Before(before) || c.Time.After(time.Now().Add(time.Second)) {
		t.Errorf("cosignature %+v, want %s now", c, w.Name())
	}
	if size, root := w.Latest(origin); size != 5 || root != drawlog.Hash(mustRoot(t, l)) {
		t.Errorf("Latest = %d %s, want 5 and the log's root", size, root)
	}
	l.AppendN(4, "b")
	cosignature(t, w, l, post(t, w, request(t, l, 5)))
	// The same checkpoint again, from its own size.
	cosignature(t, w, l, post(t, w, request(t, l, 9)))

	reqs := w.Requests()
	if len(reqs) != 3 || reqs[1].OldSize != 5 || len(reqs[1].Proof) == 0 || reqs[2].OldSize != 9 || reqs[2].Status != 200 {
		t.Errorf("Requests = %+v", reqs)
	}
}

func mustRoot(t *testing.T, l *witnesstest.Log) drawlog.Hash {
	c, _, err := drawlog.VerifyCheckpoint(l.Checkpoint(t), mustLogVerifier(t, l.VerifierKey()))
	if err != nil {
		t.Fatal(err)
	}
	return c.Root
}

func TestRefusals(t *testing.T) {
	l := witnesstest.NewLog(t, origin)
	w := witnesstest.New(t, "witness.example/w1", origin, l.VerifierKey())
	l.AppendN(5, "a")
	cosignature(t, w, l, post(t, w, request(t, l, 0)))
	l.AppendN(3, "b")

	if a := post(t, w, request(t, l, 0)); a.status != http.StatusConflict || a.ctype != "text/x.tlog.size" || a.body != "5\n" {
		t.Errorf("a stale old size: %+v, want 409 text/x.tlog.size 5", a)
	}
	if a := post(t, w, request(t, l, 3)); a.status != http.StatusConflict || a.body != "5\n" {
		t.Errorf("a wrong old size: %+v, want 409 5", a)
	}

	// A fork: the log rewritten after entry 3 and grown to 8.
	fork := l.Fork(3)
	fork.AppendN(5, "rewritten")
	if a := post(t, w, request(t, fork, 5)); a.status != http.StatusUnprocessableEntity {
		t.Errorf("a forked log: %+v, want 422", a)
	}
	// A fork at the very size the witness holds.
	same := l.Fork(3)
	same.AppendN(2, "rewritten")
	if a := post(t, w, "old 5\n\n"+same.Checkpoint(t)); a.status != http.StatusConflict || a.body != "5\n" {
		t.Errorf("a fork of the same size: %+v, want 409", a)
	}
	if size, _ := w.Latest(origin); size != 5 {
		t.Errorf("after the refusals the witness holds size %d, want 5", size)
	}

	// A proof that does not verify.
	body := request(t, l, 5)
	lines := strings.SplitN(body, "\n", 3)
	lines[1] = base64.StdEncoding.EncodeToString(make([]byte, 32))
	if a := post(t, w, strings.Join(lines, "\n")); a.status != http.StatusUnprocessableEntity {
		t.Errorf("a bad proof: %+v, want 422", a)
	}

	other := witnesstest.NewLog(t, origin)
	other.AppendN(8, "a")
	if a := post(t, w, request(t, other, 5)); a.status != http.StatusForbidden {
		t.Errorf("a checkpoint signed by another key: %+v, want 403", a)
	}
	stranger := witnesstest.NewLog(t, "example.com/other-log")
	stranger.AppendN(1, "a")
	if a := post(t, w, request(t, stranger, 0)); a.status != http.StatusNotFound {
		t.Errorf("an unknown origin: %+v, want 404", a)
	}
	if a := post(t, w, "old 9\n\n"+l.Checkpoint(t)); a.status != http.StatusBadRequest {
		t.Errorf("an old size beyond the checkpoint: %+v, want 400", a)
	}
	for _, bad := range []string{"old 05\n\n" + l.Checkpoint(t), "new 5\n\n" + l.Checkpoint(t), "old 5\n" + l.Checkpoint(t), "old 5\n!!\n\n" + l.Checkpoint(t)} {
		if a := post(t, w, bad); a.status != http.StatusBadRequest {
			t.Errorf("malformed %q: %+v, want 400", bad, a)
		}
	}
	// After all that the honest request still works.
	cosignature(t, w, l, post(t, w, request(t, l, 5)))
}

func TestClockAndModes(t *testing.T) {
	l := witnesstest.NewLog(t, origin)
	w := witnesstest.New(t, "witness.example/w1", origin, l.VerifierKey())
	l.AppendN(2, "a")
	lie := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	w.SetClock(func() time.Time { return lie })
	if c := cosignature(t, w, l, post(t, w, request(t, l, 0))); !c.Time.Equal(lie) {
		t.Errorf("cosigned at %v, want the witness's clock %v", c.Time, lie)
	}

	w.SetMode(witnesstest.BadSignature)
	l.AppendN(1, "b")
	a := post(t, w, request(t, l, 2))
	_, n, err := drawlog.VerifyCheckpoint(l.Checkpoint(t)+a.body, mustLogVerifier(t, l.VerifierKey()))
	if a.status != http.StatusOK || err != nil {
		t.Fatalf("BadSignature answered %+v, %v", a, err)
	}
	v, _ := drawlog.NewWitnessVerifier(w.VerifierKey())
	if got, err := drawlog.VerifyCosignatures(n, []note.Verifier{v}, 1); err == nil || !strings.HasPrefix(a.body, "— "+w.Name()+" ") {
		t.Errorf("BadSignature's line %q verified: %+v", a.body, got)
	}

	w.SetMode(witnesstest.Down)
	if _, err := http.Post(w.URL()+"/add-checkpoint", "text/plain", strings.NewReader(request(t, l, 3))); err == nil {
		t.Error("a Down witness answered")
	}

	w.SetMode(witnesstest.Slow(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.URL()+"/add-checkpoint", strings.NewReader(request(t, l, 3)))
	start := time.Now()
	if _, err := http.DefaultClient.Do(req); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("a Slow witness: %v after %v, want the client's timeout", err, time.Since(start))
	}
	w.SetMode(witnesstest.Slow(50 * time.Millisecond))
	w.SetClock(nil)
	cosignature(t, w, l, post(t, w, request(t, l, 3)))
}
