// Package witnesstest is a stand-in C2SP tlog-witness for tests: it serves
// add-checkpoint over HTTP, verifies the log's signature, the old size and
// the consistency proof, refuses forks, keeps the latest cosigned tree of
// each log, and answers with a cosignature/v1 line from a key of its own,
// stamped with its clock. It can be down, slow, lie about the time or sign
// badly.
package witnesstest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/drawlog"
)

// A Mode is how the witness behaves.
type Mode struct {
	down   bool
	delay  time.Duration
	badSig bool
}

// The modes.
var (
	// Honest answers as the protocol says.
	Honest = Mode{}
	// Down closes every connection without an answer.
	Down = Mode{down: true}
	// BadSignature answers 200 with a line that carries its key's name and
	// hash but is signed by another key.
	BadSignature = Mode{badSig: true}
)

// Slow answers honestly after d, or not at all if the client gives up first.
func Slow(d time.Duration) Mode { return Mode{delay: d} }

// A Request is one add-checkpoint request the witness received.
type Request struct {
	// OldSize is the request's old size.
	OldSize uint64
	// Proof is its consistency proof.
	Proof []drawlog.Hash
	// Checkpoint is the submitted note.
	Checkpoint string
	// Status is the witness's answer.
	Status int
}

type tree struct {
	size uint64
	root drawlog.Hash
}

type logState struct {
	verifier note.Verifier
	latest   tree
}

// A Witness is a running stand-in witness.
type Witness struct {
	name   string
	key    ed25519.PrivateKey
	signer *torchwood.CosignatureSigner
	srv    *httptest.Server
	closed chan struct{}

	mu       sync.Mutex
	mode     Mode
	now      func() time.Time
	logs     map[string]*logState
	requests []Request
}

// New starts a witness named name, with a fresh cosignature/v1 key, that
// witnesses the log of the given origin and Ed25519 note verifier key. It
// is closed when the test ends.
func New(tb testing.TB, name, origin, logVerifierKey string) *Witness {
	tb.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := torchwood.NewCosignatureSigner(name, key)
	if err != nil {
		tb.Fatal(err)
	}
	w := &Witness{name: name, key: key, signer: signer, logs: make(map[string]*logState), closed: make(chan struct{})}
	w.AddLog(tb, origin, logVerifierKey)
	w.srv = httptest.NewServer(w)
	// Cleanups run last first: slow answers are released, then the server
	// closes.
	tb.Cleanup(w.srv.Close)
	tb.Cleanup(func() { close(w.closed) })
	return w
}

// AddLog makes the witness accept another log's checkpoints.
func (w *Witness) AddLog(tb testing.TB, origin, logVerifierKey string) {
	tb.Helper()
	v, err := drawlog.NewLogVerifier(logVerifierKey)
	if err != nil {
		tb.Fatal(err)
	}
	if v.Name() != origin {
		tb.Fatalf("witnesstest: log key %q is not named for origin %q", logVerifierKey, origin)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.logs[origin] = &logState{verifier: v}
}

// Name returns the witness's key name.
func (w *Witness) Name() string { return w.name }

// URL returns the witness's submission prefix.
func (w *Witness) URL() string { return w.srv.URL }

// VerifierKey returns the witness's cosignature/v1 verifier key,
// name+hash+base64(0x04 || key).
func (w *Witness) VerifierKey() string { return w.signer.Verifier().String() }

// Verifier returns the verifier of the witness's cosignatures.
func (w *Witness) Verifier() note.Verifier { return w.signer.Verifier() }

// SetMode changes how the witness behaves from the next request on.
func (w *Witness) SetMode(m Mode) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mode = m
}

// SetClock makes the witness stamp its cosignatures with now() instead of
// the system clock; nil restores the system clock.
func (w *Witness) SetClock(now func() time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = now
}

// Requests returns the add-checkpoint requests received so far.
func (w *Witness) Requests() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Request(nil), w.requests...)
}

// Latest returns the size and root of the latest checkpoint the witness
// cosigned for the origin.
func (w *Witness) Latest(origin string) (size uint64, root drawlog.Hash) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l := w.logs[origin]; l != nil {
		return l.latest.size, l.latest.root
	}
	return 0, drawlog.Hash{}
}

// ServeHTTP serves POST /add-checkpoint.
func (w *Witness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	mode := w.mode
	w.mu.Unlock()
	if mode.down {
		if hj, ok := rw.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		http.Error(rw, "down", http.StatusServiceUnavailable)
		return
	}
	// The body is read first: only then does the server notice a client
	// that hangs up, and cancel the request's context.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	if mode.delay > 0 {
		select {
		case <-time.After(mode.delay):
		case <-r.Context().Done():
			return
		case <-w.closed:
			return
		}
	}
	if r.URL.Path != "/add-checkpoint" {
		http.NotFound(rw, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(rw, "POST only", http.StatusMethodNotAllowed)
		return
	}
	status, ctype, answer := w.addCheckpoint(body, mode)
	rw.Header().Set("Content-Type", ctype)
	rw.WriteHeader(status)
	rw.Write(answer)
}

// addCheckpoint checks the request and updates the log's latest tree under
// one lock, so that two requests can never roll the witness back.
func (w *Witness) addCheckpoint(body []byte, mode Mode) (status int, ctype string, answer []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	req := Request{}
	defer func() {
		req.Status = status
		w.requests = append(w.requests, req)
	}()
	fail := func(status int, format string, args ...any) (int, string, []byte) {
		return status, "text/plain; charset=utf-8", fmt.Appendf(nil, format+"\n", args...)
	}

	head, noteText, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return fail(http.StatusBadRequest, "no empty line before the checkpoint")
	}
	req.Checkpoint = string(noteText)
	lines := strings.Split(string(head), "\n")
	oldText, ok := strings.CutPrefix(lines[0], "old ")
	old, err := strconv.ParseUint(oldText, 10, 64)
	if !ok || err != nil || strconv.FormatUint(old, 10) != oldText {
		return fail(http.StatusBadRequest, "malformed old size line %q", lines[0])
	}
	req.OldSize = old
	if len(lines)-1 > 63 {
		return fail(http.StatusBadRequest, "more than 63 proof lines")
	}
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != 32 {
			return fail(http.StatusBadRequest, "malformed proof line %q", l)
		}
		req.Proof = append(req.Proof, drawlog.Hash(h))
	}

	origin, _, _ := strings.Cut(string(noteText), "\n")
	l := w.logs[origin]
	if l == nil {
		return fail(http.StatusNotFound, "unknown log %q", origin)
	}
	cp, n, err := drawlog.VerifyCheckpoint(string(noteText), l.verifier)
	if err != nil {
		return fail(http.StatusForbidden, "%v", err)
	}
	if old > cp.Size {
		return fail(http.StatusBadRequest, "old size %d is beyond the checkpoint's %d", old, cp.Size)
	}
	if old != l.latest.size {
		return http.StatusConflict, "text/x.tlog.size", fmt.Appendf(nil, "%d\n", l.latest.size)
	}
	switch {
	case old == 0 && len(req.Proof) > 0:
		return fail(http.StatusBadRequest, "a proof from size 0")
	case old == 0:
	case old == cp.Size && cp.Root != l.latest.root:
		// The same size with another root: a fork.
		return http.StatusConflict, "text/x.tlog.size", fmt.Appendf(nil, "%d\n", l.latest.size)
	default:
		if err := drawlog.VerifyConsistency(old, cp.Size, req.Proof, l.latest.root, cp.Root); err != nil {
			return fail(http.StatusUnprocessableEntity, "%v", err)
		}
	}
	l.latest = tree{size: cp.Size, root: cp.Root}

	signed, err := note.Sign(&note.Note{Text: n.Text}, w.cosigner(mode))
	if err != nil {
		return fail(http.StatusInternalServerError, "%v", err)
	}
	// The answer is the signature block: everything after the note's text
	// and its blank line.
	_, sigs, _ := bytes.Cut(signed[len(n.Text):], []byte("\n"))
	return http.StatusOK, "text/plain; charset=utf-8", sigs
}

// cosigner returns the signer of this answer: torchwood's, which reads the
// system clock, or, with a clock set or a bad signature wanted, one that
// writes the same cosignature/v1 signature with the chosen time and key.
func (w *Witness) cosigner(mode Mode) note.Signer {
	if w.now == nil && !mode.badSig {
		return w.signer
	}
	s := &clockSigner{name: w.name, hash: w.signer.KeyHash(), key: w.key, now: w.now}
	if s.now == nil {
		s.now = time.Now
	}
	if mode.badSig {
		_, s.key, _ = ed25519.GenerateKey(rand.Reader)
	}
	return s
}

// clockSigner signs C2SP tlog-cosignature cosignature/v1 messages,
// "cosignature/v1\ntime <unix seconds>\n<checkpoint>", with an Ed25519 key;
// the signature is uint64_be(time) || Ed25519 signature.
type clockSigner struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
	now  func() time.Time
}

func (s *clockSigner) Name() string    { return s.name }
func (s *clockSigner) KeyHash() uint32 { return s.hash }

func (s *clockSigner) Sign(msg []byte) ([]byte, error) {
	t := s.now().Unix()
	if t < 0 {
		return nil, fmt.Errorf("witnesstest: time %d is before 1970", t)
	}
	var m bytes.Buffer
	fmt.Fprintf(&m, "cosignature/v1\ntime %d\n", t)
	m.Write(msg)
	sig := binary.BigEndian.AppendUint64(nil, uint64(t))
	return append(sig, ed25519.Sign(s.key, m.Bytes())...), nil
}
