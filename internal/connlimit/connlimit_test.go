package connlimit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const refusal = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy"

// bench is a server behind a Listener: /hold blocks until released,
// anything else answers its path and body.
type bench struct {
	t       *testing.T
	l       *Listener
	srv     *http.Server
	release chan struct{}
	held    chan struct{}
	maxOpen atomic.Int64 // the most connections the server held at once
	refused atomic.Int64
	once    sync.Once
}

func newBench(t *testing.T, o Options) *bench {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{t: t, release: make(chan struct{}), held: make(chan struct{}, 100)}
	var open atomic.Int64
	b.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			b.held <- struct{}{}
			<-b.release
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", r.URL.Path, body)
	}), ConnState: func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			n := open.Add(1)
			for m := b.maxOpen.Load(); n > m && !b.maxOpen.CompareAndSwap(m, n); m = b.maxOpen.Load() {
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}}
	if o.Refusal == nil {
		o.Refusal = []byte(refusal)
	}
	o.Refused = func() { b.refused.Add(1) }
	if o.Pass == nil {
		o.Pass = func(line []byte) bool { return strings.Contains(string(line), " /health ") }
	}
	b.l = Wrap(b.srv, ln, o)
	served := make(chan error, 1)
	go func() { served <- b.srv.Serve(b.l) }()
	t.Cleanup(func() {
		b.releaseAll()
		b.srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return b
}

func (b *bench) releaseAll() { b.once.Do(func() { close(b.release) }) }

// dial opens a raw connection to the server.
func (b *bench) dial() net.Conn {
	b.t.Helper()
	c, err := net.Dial("tcp", b.l.Addr().String())
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// hold occupies one connection with a request the server holds.
func (b *bench) hold() net.Conn {
	b.t.Helper()
	c := b.dial()
	fmt.Fprint(c, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	<-b.held
	return c
}

// request sends one request on c and reads its answer.
func request(t *testing.T, c net.Conn, method, path, body string) (*http.Response, string) {
	t.Helper()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", method, path, len(body), body)
	return readResponse(t, bufio.NewReader(c))
}

func readResponse(t *testing.T, r *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer's body: %v", err)
	}
	return resp, string(body)
}

// waitFor polls cond until it holds, failing after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func TestServesBelowTheBound(t *testing.T) {
	b := newBench(t, Options{Max: 2})
	c := b.dial()
	for i := range 3 {
		resp, body := request(t, c, "POST", "/register", fmt.Sprint(i))
		if resp.StatusCode != http.StatusOK || body != fmt.Sprintf("/register %d", i) {
			t.Fatalf("answer %d: %d %q", i, resp.StatusCode, body)
		}
	}
	if got := b.l.Open(); got != 1 {
		t.Errorf("Open = %d, want 1", got)
	}
}

func TestRefusesAtTheBoundWithTheWholeAnswer(t *testing.T) {
	b := newBench(t, Options{Max: 1})
	b.hold()
	c := b.dial()
	// The head first, the body once the refusal is on its way, and only
	// then a read: the refusal still reaches the caller whole, then the
	// end of the stream.
	fmt.Fprint(c, "POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
	time.Sleep(20 * time.Millisecond)
	fmt.Fprint(c, "hello")
	time.Sleep(20 * time.Millisecond)
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the refusal: %v (got %q)", err, got)
	}
	if string(got) != refusal {
		t.Fatalf("got %q, want the refusal", got)
	}
	if b.refused.Load() != 1 || b.l.Refused() != 1 {
		t.Errorf("refusals heard %d, counted %d; want 1", b.refused.Load(), b.l.Refused())
	}
	if got := b.maxOpen.Load(); got != 1 {
		t.Errorf("the server held %d connections at once, want 1", got)
	}
}

func TestProbesPassTheBound(t *testing.T) {
	b := newBench(t, Options{Max: 1})
	b.hold()
	c := b.dial()
	resp, body := request(t, c, "POST", "/health", "the whole body")
	if resp.StatusCode != http.StatusOK || body != "/health the whole body" {
		t.Fatalf("probe: %d %q", resp.StatusCode, body)
	}
	// The probe's connection is the server's now: a second request on it
	// is served too.
	if resp, body := request(t, c, "GET", "/register", ""); resp.StatusCode != http.StatusOK || body != "/register " {
		t.Fatalf("second request on the probe's connection: %d %q", resp.StatusCode, body)
	}
	if b.refused.Load() != 0 {
		t.Errorf("%d refused, want 0", b.refused.Load())
	}
}

func TestWaitsForTheRequestBeforeDeciding(t *testing.T) {
	b := newBench(t, Options{Max: 1, RequestWait: 10 * time.Second})
	held := b.hold()
	c := b.dial() // arrives at the bound, sends nothing yet
	b.releaseAll()
	if _, body := readResponse(t, bufio.NewReader(held)); body != "/hold " {
		t.Fatalf("held request answered %q", body)
	}
	held.Close()
	waitFor(t, "the held connection is closed", func() bool { return b.l.Open() == 0 })
	resp, body := request(t, c, "GET", "/register", "")
	if resp.StatusCode != http.StatusOK || body != "/register " {
		t.Fatalf("answer once there was room: %d %q", resp.StatusCode, body)
	}
}

// clock is a settable time for the idle times.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestClosesTheLongestIdleToMakeRoom(t *testing.T) {
	clk := &clock{now: time.Unix(1e9, 0)}
	b := newBench(t, Options{Max: 2, MinIdle: 5 * time.Second, now: clk.Now})
	oldest, newer := b.dial(), b.dial()
	request(t, oldest, "GET", "/a", "")
	waitFor(t, "the first connection idles", func() bool { return idleCount(b.l) == 1 })
	clk.add(time.Second)
	request(t, newer, "GET", "/b", "")
	waitFor(t, "both connections idle", func() bool { return idleCount(b.l) == 2 })
	clk.add(4500 * time.Millisecond) // oldest idle 5.5 s, newer 4.5 s

	if resp, body := request(t, b.dial(), "GET", "/c", ""); resp.StatusCode != http.StatusOK || body != "/c " {
		t.Fatalf("newcomer: %d %q", resp.StatusCode, body)
	}
	if n, err := oldest.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("the longest idle connection is still open (%d, %v)", n, err)
	}
	if resp, _ := request(t, newer, "GET", "/b", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("the newer idle connection: %d", resp.StatusCode)
	}
	// Both held connections were active within MinIdle: a fourth is refused.
	if got, _ := io.ReadAll(sendOn(b.dial(), "GET /d HTTP/1.1\r\nHost: x\r\n\r\n")); string(got) != refusal {
		t.Fatalf("with no connection idle 5 s, got %q, want the refusal", got)
	}
	if got := b.maxOpen.Load(); got > 2 {
		t.Errorf("the server held %d connections at once, want 2 at most", got)
	}
}

func sendOn(c net.Conn, s string) net.Conn {
	fmt.Fprint(c, s)
	return c
}

func idleCount(l *Listener) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idle.Len()
}

func TestClosesAConnectionSilentAtTheBound(t *testing.T) {
	b := newBench(t, Options{Max: 1, MaxWaiting: 1, RequestWait: 50 * time.Millisecond})
	b.hold()
	silent := b.dial()
	if n, err := silent.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("silent connection: read %d, %v; want it closed unanswered", n, err)
	}
	// Its place in the waiting room is free again.
	if got, _ := io.ReadAll(sendOn(b.dial(), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")); string(got) != refusal {
		t.Fatalf("got %q, want the refusal", got)
	}
}

func TestNeverHoldsMoreThanTheBound(t *testing.T) {
	const max = 8
	b := newBench(t, Options{Max: max})
	var wg sync.WaitGroup
	var ok, refused, other atomic.Int64
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
			defer client.CloseIdleConnections()
			for range 25 {
				resp, err := client.Post("http://"+b.l.Addr().String()+"/x", "text/plain", strings.NewReader("x"))
				if err != nil {
					other.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusServiceUnavailable:
					refused.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if other.Load() != 0 || ok.Load()+refused.Load() != 1000 || refused.Load() != b.l.Refused() {
		t.Errorf("%d served, %d refused (%d counted), %d other; want 1,000 answered 200 or 503", ok.Load(), refused.Load(), b.l.Refused(), other.Load())
	}
	if got := b.maxOpen.Load(); got > max {
		t.Errorf("the server held %d connections at once, want %d at most", got, max)
	}
	waitFor(t, "every connection is counted closed", func() bool { return b.l.Open() == 0 })
}

func TestWithoutABoundEveryConnectionIsServed(t *testing.T) {
	b := newBench(t, Options{})
	for range 3 {
		b.hold()
	}
	if resp, _ := request(t, b.dial(), "GET", "/x", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d", resp.StatusCode)
	}
}
