// Package witness gathers cosignatures of the draw log's checkpoints from
// the configured witnesses over the C2SP tlog-witness protocol: each new
// checkpoint is submitted with a consistency proof from the size the witness
// last cosigned, and counts only once its cosignature/v1 line verifies
// against that witness's key.
package witness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/drawlog"
)

// DefaultTimeout bounds one add-checkpoint request when Client.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// maxResponse bounds the bytes read from a witness's answer.
const maxResponse = 64 << 10

// maxProofLines is the most consistency proof lines tlog-witness allows.
const maxProofLines = 63

// maxResyncs bounds the 409 answers followed within one Cosign per witness.
const maxResyncs = 2

// ErrNoWitnesses is returned by Cosign when no witness is configured.
var ErrNoWitnesses = errors.New("witness: no witnesses configured")

// A Witness is one witness the log submits its checkpoints to.
type Witness struct {
	// URL is the witness's submission prefix: checkpoints are posted to
	// URL + "/add-checkpoint".
	URL string
	// Verifier checks the witness's cosignatures: its cosignature/v1 key,
	// from drawlog.NewWitnessVerifier. Its name names the witness.
	Verifier note.Verifier
}

// ParseWitnesses pairs witness URLs with their cosignature/v1 verifier keys
// (name+hash+base64(0x04 || key)), given in the same order.
func ParseWitnesses(urls, keys []string) ([]Witness, error) {
	if len(urls) != len(keys) {
		return nil, fmt.Errorf("witness: %d URLs but %d keys", len(urls), len(keys))
	}
	out := make([]Witness, len(urls))
	seen := make(map[string]bool, len(urls))
	for i := range urls {
		u, err := url.Parse(urls[i])
		if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("witness: URL %q is not an http(s) prefix", urls[i])
		}
		v, err := drawlog.NewWitnessVerifier(keys[i])
		if err != nil {
			return nil, err
		}
		if seen[v.Name()] {
			return nil, fmt.Errorf("witness: two witnesses are named %s", v.Name())
		}
		seen[v.Name()] = true
		out[i] = Witness{URL: urls[i], Verifier: v}
	}
	return out, nil
}

// An Outcome is how one add-checkpoint request ended, for metrics.
type Outcome string

// The outcomes.
const (
	// OutcomeCosigned: 200 with a cosignature that verified.
	OutcomeCosigned Outcome = "cosigned"
	// OutcomeConflict: 409, the witness holds another size (followed by a
	// resubmission from that size), or a different tree at the same size.
	OutcomeConflict Outcome = "conflict"
	// OutcomeBadProof: 422, the consistency proof did not verify for the
	// witness: the log forked, or the witness's state did.
	OutcomeBadProof Outcome = "bad_proof"
	// OutcomeRefused: 400, 403 or 404: the witness does not accept the
	// request, the log's key or the origin.
	OutcomeRefused Outcome = "refused"
	// OutcomeBadCosignature: 200 whose answer holds no cosignature that
	// verifies against the witness's key.
	OutcomeBadCosignature Outcome = "bad_cosignature"
	// OutcomeTimeout: no answer within the request's timeout or the
	// caller's deadline.
	OutcomeTimeout Outcome = "timeout"
	// OutcomeCanceled: stopped because the quorum was reached or the
	// caller gave up.
	OutcomeCanceled Outcome = "canceled"
	// OutcomeError: anything else: the network, a 5xx, a redirect, an
	// unreadable answer, or a proof the log could not produce.
	OutcomeError Outcome = "error"
)

// ConsistencyFunc returns the RFC 6962 consistency proof between two sizes
// of the log, each hash 32 bytes.
type ConsistencyFunc func(ctx context.Context, from, to uint64) ([][]byte, error)

// A Client submits one log's checkpoints to witnesses. Its exported fields
// are set before the first Cosign and not changed after. It remembers each
// witness's latest cosigned size of that log, by witness name, so a log
// needs a Client of its own; Cosign calls should not overlap, or they will
// cost each other 409 round trips.
type Client struct {
	Witnesses []Witness
	// Quorum is how many witnesses must cosign; 0 means all of them.
	Quorum int
	// Timeout bounds each request; 0 means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient sends the requests; nil means http.DefaultTransport. A
	// copy of it is used that never follows redirects, so a checkpoint is
	// only ever cosigned by the host it was configured for.
	HTTPClient *http.Client
	// OnAttempt, if set, is called after each request with the witness's
	// name, its outcome and how long it took.
	OnAttempt func(witness string, outcome Outcome, d time.Duration)
	// Logger receives a line per failed request; nil discards them.
	Logger *slog.Logger

	mu    sync.Mutex
	sizes map[string]uint64
}

// KnownSizes returns, by witness name, the latest tree size each witness is
// known to have cosigned (or to hold, from a 409), so that the service can
// store it and pass it back to Cosign after a restart.
func (c *Client) KnownSizes() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]uint64, len(c.sizes))
	for k, v := range c.sizes {
		out[k] = v
	}
	return out
}

func (c *Client) knownSize(name string, known map[string]uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.sizes[name], known[name])
}

func (c *Client) setSize(name string, size uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sizes == nil {
		c.sizes = make(map[string]uint64)
	}
	c.sizes[name] = size
}

// Cosign submits the log-signed checkpoint note, of the given tree size, to
// every witness at once. Each is sent the consistency proof from the size it
// last cosigned: the larger of the client's memory and known (sizes the
// caller stored, by witness name; may be nil), and after a 409 from the size
// the witness names. Each returned cosignature is verified against that
// witness's key and the exact checkpoint; one that does not verify is never
// counted.
//
// Cosign returns as soon as the quorum has cosigned (requests still under
// way are canceled), or when ctx ends. It returns the note with the verified
// cosignature lines added, in the order of Witnesses, and the cosignatures.
// Short of the quorum it returns what it has with an error that wraps a
// *drawlog.QuorumError and says why each other witness failed.
func (c *Client) Cosign(ctx context.Context, checkpointNote string, size uint64, consistency ConsistencyFunc, known map[string]uint64) (string, []drawlog.Cosignature, error) {
	if len(c.Witnesses) == 0 {
		return "", nil, ErrNoWitnesses
	}
	quorum := c.Quorum
	if quorum == 0 {
		quorum = len(c.Witnesses)
	}
	if quorum < 0 || quorum > len(c.Witnesses) {
		return "", nil, fmt.Errorf("witness: quorum %d of %d witnesses", quorum, len(c.Witnesses))
	}
	names := make(map[string]bool, len(c.Witnesses))
	for _, w := range c.Witnesses {
		if w.Verifier == nil {
			return "", nil, fmt.Errorf("witness: %s has no key", w.URL)
		}
		if names[w.Verifier.Name()] {
			return "", nil, fmt.Errorf("witness: two witnesses are named %s", w.Verifier.Name())
		}
		names[w.Verifier.Name()] = true
	}
	n, err := drawlog.OpenNote(checkpointNote)
	if err != nil {
		return "", nil, fmt.Errorf("witness: checkpoint: %w", err)
	}
	cp, err := drawlog.ParseCheckpoint(n.Text)
	if err != nil {
		return "", nil, fmt.Errorf("witness: checkpoint: %w", err)
	}
	if cp.Size != size {
		return "", nil, fmt.Errorf("witness: checkpoint has size %d, not %d", cp.Size, size)
	}

	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		i   int
		cos drawlog.Cosignature
		err error
	}
	results := make(chan result, len(c.Witnesses))
	hc := c.httpClient()
	for i, w := range c.Witnesses {
		go func() {
			cos, err := c.submit(sub, ctx, hc, w, n.Text, checkpointNote, size, consistency, known)
			results <- result{i, cos, err}
		}()
	}
	got := make([]*drawlog.Cosignature, len(c.Witnesses))
	errs := make([]error, len(c.Witnesses))
	count := 0
	for range c.Witnesses {
		r := <-results
		if r.err != nil {
			errs[r.i] = r.err
			continue
		}
		got[r.i] = &r.cos
		if count++; count >= quorum {
			// The rest are canceled, but still drained, so that no request
			// outlives the call and any that did finish is kept.
			cancel()
		}
	}

	var cosigs []drawlog.Cosignature
	var sigs []note.Signature
	for _, g := range got {
		if g != nil {
			cosigs = append(cosigs, *g)
			sigs = append(sigs, g.Signature)
		}
	}
	out, err := drawlog.AddSignatures(n, sigs...)
	if err != nil {
		return "", nil, fmt.Errorf("witness: %w", err)
	}
	if len(cosigs) < quorum {
		var why []string
		for i, e := range errs {
			if e != nil {
				why = append(why, c.Witnesses[i].Verifier.Name()+": "+e.Error())
			}
		}
		qe := &drawlog.QuorumError{Cosigned: len(cosigs), Witnesses: len(c.Witnesses), Quorum: quorum}
		return out, cosigs, fmt.Errorf("witness: %w (%s)", qe, strings.Join(why, "; "))
	}
	return out, cosigs, nil
}

func (c *Client) httpClient() *http.Client {
	var hc http.Client
	if c.HTTPClient != nil {
		hc = *c.HTTPClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// submit gets one witness's cosignature, following its 409 answers. ctx is
// canceled once the quorum is reached; parent is the caller's.
func (c *Client) submit(ctx, parent context.Context, hc *http.Client, w Witness, text, checkpointNote string, size uint64, consistency ConsistencyFunc, known map[string]uint64) (drawlog.Cosignature, error) {
	name := w.Verifier.Name()
	old := c.knownSize(name, known)
	for resyncs := 0; ; resyncs++ {
		if old > size {
			return drawlog.Cosignature{}, fmt.Errorf("witness holds size %d, beyond the checkpoint's %d", old, size)
		}
		var proof [][]byte
		if old > 0 && old < size {
			var err error
			if proof, err = consistency(ctx, old, size); err != nil {
				c.report(name, OutcomeError, 0, fmt.Errorf("consistency proof %d to %d: %w", old, size, err))
				return drawlog.Cosignature{}, fmt.Errorf("consistency proof from %d: %w", old, err)
			}
		}
		body, err := requestBody(old, proof, checkpointNote)
		if err != nil {
			c.report(name, OutcomeError, 0, err)
			return drawlog.Cosignature{}, err
		}
		start := time.Now()
		status, ctype, resp, err := c.post(ctx, hc, w.URL, body)
		d := time.Since(start)
		if err != nil {
			outcome := OutcomeError
			switch {
			case ctx.Err() != nil && parent.Err() == nil:
				outcome = OutcomeCanceled
			case errors.Is(err, context.DeadlineExceeded):
				outcome = OutcomeTimeout
			case errors.Is(err, context.Canceled):
				outcome = OutcomeCanceled
			}
			c.report(name, outcome, d, err)
			return drawlog.Cosignature{}, fmt.Errorf("%s: %w", outcome, err)
		}
		switch status {
		case http.StatusOK:
			cos, err := verifyResponse(text, resp, w.Verifier)
			if err != nil {
				c.report(name, OutcomeBadCosignature, d, err)
				return drawlog.Cosignature{}, err
			}
			c.setSize(name, size)
			c.report(name, OutcomeCosigned, d, nil)
			return cos, nil
		case http.StatusConflict:
			latest, err := parseSize(ctype, resp)
			if err != nil {
				c.report(name, OutcomeError, d, err)
				return drawlog.Cosignature{}, err
			}
			c.setSize(name, latest)
			if latest == old {
				err := fmt.Errorf("conflict: the witness holds a different tree of size %d", latest)
				c.report(name, OutcomeConflict, d, err)
				return drawlog.Cosignature{}, err
			}
			if resyncs == maxResyncs {
				err := fmt.Errorf("conflict: the witness's size keeps changing (now %d)", latest)
				c.report(name, OutcomeConflict, d, err)
				return drawlog.Cosignature{}, err
			}
			c.report(name, OutcomeConflict, d, nil)
			old = latest
		case http.StatusUnprocessableEntity:
			err := fmt.Errorf("bad proof: the witness refused the consistency proof from size %d (422): %s", old, snippet(resp))
			c.report(name, OutcomeBadProof, d, err)
			return drawlog.Cosignature{}, err
		case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound:
			err := fmt.Errorf("refused (%d): %s", status, snippet(resp))
			c.report(name, OutcomeRefused, d, err)
			return drawlog.Cosignature{}, err
		default:
			err := fmt.Errorf("unexpected status %d: %s", status, snippet(resp))
			c.report(name, OutcomeError, d, err)
			return drawlog.Cosignature{}, err
		}
	}
}

func (c *Client) report(name string, outcome Outcome, d time.Duration, err error) {
	if c.OnAttempt != nil {
		c.OnAttempt(name, outcome, d)
	}
	if err == nil {
		return
	}
	level := slog.LevelWarn
	if outcome == OutcomeCanceled {
		level = slog.LevelDebug
	}
	c.logger().Log(context.Background(), level, "witness did not cosign",
		"witness", name, "outcome", string(outcome), "duration", d, "error", err)
}

// requestBody builds the add-checkpoint body: the old size line, the proof
// lines, an empty line and the checkpoint note.
func requestBody(old uint64, proof [][]byte, checkpointNote string) ([]byte, error) {
	if len(proof) > maxProofLines {
		return nil, fmt.Errorf("consistency proof of %d hashes exceeds %d", len(proof), maxProofLines)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for i, h := range proof {
		if len(h) != 32 {
			return nil, fmt.Errorf("consistency proof hash %d has %d bytes, want 32", i, len(h))
		}
		b.WriteString(base64.StdEncoding.EncodeToString(h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(checkpointNote)
	return b.Bytes(), nil
}

func (c *Client) post(ctx context.Context, hc *http.Client, prefix string, body []byte) (status int, ctype string, resp []byte, err error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(prefix, "/")+"/add-checkpoint", bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	r, err := hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer r.Body.Close()
	resp, err = io.ReadAll(io.LimitReader(r.Body, maxResponse+1))
	if err != nil {
		return 0, "", nil, err
	}
	if len(resp) > maxResponse {
		return 0, "", nil, fmt.Errorf("answer exceeds %d bytes", maxResponse)
	}
	if r.StatusCode >= 300 && r.StatusCode < 400 {
		return 0, "", nil, fmt.Errorf("redirect (%d) to %q refused", r.StatusCode, r.Header.Get("Location"))
	}
	return r.StatusCode, r.Header.Get("Content-Type"), resp, nil
}

// verifyResponse checks a 200 answer: note signature lines, of which one
// must be the witness's cosignature on exactly this checkpoint text.
func verifyResponse(text string, resp []byte, v note.Verifier) (drawlog.Cosignature, error) {
	if len(resp) == 0 || resp[len(resp)-1] != '\n' {
		return drawlog.Cosignature{}, errors.New("bad cosignature: the answer is not signature lines")
	}
	n, err := drawlog.OpenNote(text + "\n" + string(resp))
	if err != nil {
		return drawlog.Cosignature{}, fmt.Errorf("bad cosignature: the answer is not signature lines: %w", err)
	}
	got, err := drawlog.VerifyCosignatures(n, []note.Verifier{v}, 1)
	if err != nil {
		return drawlog.Cosignature{}, fmt.Errorf("bad cosignature: no line verifies against the witness's key %s+%08x", v.Name(), v.KeyHash())
	}
	return got[0], nil
}

// parseSize reads a 409 answer: text/x.tlog.size, a decimal size and a
// newline.
func parseSize(ctype string, resp []byte) (uint64, error) {
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil || mt != "text/x.tlog.size" {
		return 0, fmt.Errorf("409 with Content-Type %q, not text/x.tlog.size", ctype)
	}
	s, ok := strings.CutSuffix(string(resp), "\n")
	n, err := strconv.ParseUint(s, 10, 64)
	if !ok || err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("409 with a malformed size %q", snippet(resp))
	}
	return n, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
