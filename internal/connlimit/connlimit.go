// Package connlimit bounds the connections an HTTP server holds, so that
// an overload costs the server a bounded amount of memory and leaves its
// CPU to the requests it admitted, however many connections its callers
// open.
//
// Each connection net/http serves holds a goroutine and two 4 KiB buffers
// for as long as it is open, busy or idle, and an open-loop caller (a
// load balancer, a fleet of bots) opens one for every request it has
// outstanding: when the server falls behind, the connections and the
// memory grow with the backlog, and the goroutines refusing requests
// compete for the CPU with those serving them. A Listener hands the
// server at most Max connections. A connection arriving at the bound
// waits, without net/http's buffers, for its request; when the request
// comes the bound is looked at again. If the server still holds Max, the
// connection idle longest is closed to make room when it has been idle
// MinIdle (as nginx reuses its keep-alive connections when its
// worker_connections run out); otherwise the request is answered with a
// fixed response (a 503 with Retry-After) and its connection closed, a
// few system calls instead of the whole handler stack. Requests Pass
// selects (health probes) reach the server whatever the bound.
//
// At most MaxWaiting connections wait at the bound; the rest wait in the
// kernel's accept queue, which costs the process nothing. That queue is
// first come, first served, so under overload a health probe sent to the
// bounded port waits its turn too: serve probes on another port.
package connlimit

import (
	"bytes"
	"container/list"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Listener.
type Options struct {
	// Max is the most connections handed to the server at once; zero
	// means no bound.
	Max int
	// Refusal is the whole HTTP response written to a request refused at
	// the bound; it should say Connection: close.
	Refusal []byte
	// Pass reports whether a request, given its request line ("GET
	// /health HTTP/1.1"), reaches the server even at the bound.
	Pass func(requestLine []byte) bool
	// Refused hears each request refused.
	Refused func()
	// MaxWaiting bounds the connections waiting at the bound for their
	// request or being refused (64 when zero); beyond it new connections
	// wait in the kernel's accept queue. A small number gives the CPU to
	// the admitted requests: in a spike to about three times what the
	// service could serve, 64 served 1.9 to 2.2 times as many
	// registrations as no bound, 1,024 only 1.1 to 1.3 times.
	MaxWaiting int
	// RequestWait is how long a connection waiting at the bound may take
	// to start its request (1 s when zero); then it is closed unanswered.
	// A client sends its request as soon as it connects, but one that
	// dialled ahead of need (Go's Transport does, racing a connection
	// about to be freed) keeps the new one idle in its pool instead, and
	// such a connection would hold a place in the waiting room.
	RequestWait time.Duration
	// MinIdle is how long a connection must have been idle to be closed
	// to make room (5 s when zero, Apache's keep-alive timeout). A caller
	// busy enough to fill the bound reuses a connection within moments of
	// its last answer; closing one sooner races the request it is about
	// to send, which the caller sees as a failure and does not resend if
	// it is a POST.
	MinIdle time.Duration

	now func() time.Time // the clock idle times are read on; tests set it
}

// Listener is a net.Listener that hands an http.Server at most Options.Max
// connections. Wrap makes one.
type Listener struct {
	net.Listener
	o       Options
	ready   chan accepted
	done    chan struct{}
	closing sync.Once
	waiting chan struct{} // a token for each connection waiting at the bound
	open    atomic.Int64  // connections handed to the server and not closed
	refused atomic.Int64

	mu   sync.Mutex
	idle *list.List                 // the server's idle connections, longest idle first
	at   map[net.Conn]*list.Element // each idle connection's place in idle
	shut map[net.Conn]bool          // idle connections closed to make room, not yet seen closed
}

type idleConn struct {
	conn  net.Conn
	since time.Time
}

type accepted struct {
	conn net.Conn
	err  error
}

// Wrap returns ln bounded as o says, and sets srv.ConnState (calling any
// hook already there) so that the bound sees the server's connections go
// idle and close. srv must serve the returned listener, and only it.
func Wrap(srv *http.Server, ln net.Listener, o Options) *Listener {
	if o.MaxWaiting <= 0 {
		o.MaxWaiting = 64
	}
	if o.RequestWait <= 0 {
		o.RequestWait = time.Second
	}
	if o.MinIdle <= 0 {
		o.MinIdle = 5 * time.Second
	}
	if o.now == nil {
		o.now = time.Now
	}
	l := &Listener{Listener: ln, o: o, ready: make(chan accepted), done: make(chan struct{}),
		waiting: make(chan struct{}, o.MaxWaiting), idle: list.New(),
		at: map[net.Conn]*list.Element{}, shut: map[net.Conn]bool{}}
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		if prev != nil {
			prev(c, s) // first, so that a hook counting connections never sees more than the bound
		}
		l.connState(c, s)
	}
	go l.acceptLoop()
	return l
}

// Open returns how many connections the server holds.
func (l *Listener) Open() int { return int(l.open.Load()) }

// Refused returns how many requests were refused at the bound.
func (l *Listener) Refused() int64 { return l.refused.Load() }

// Accept returns the next connection for the server.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case a := <-l.ready:
		return a.conn, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; the connections the server holds are its own to
// close.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.closing.Do(func() { close(l.done) })
	return err
}

func (l *Listener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			// The server backs off from a temporary error and stops at
			// any other, closing the listener.
			if !l.deliver(accepted{err: err}) || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if l.reserve() {
			if !l.serve(c) {
				return
			}
			continue
		}
		select {
		case l.waiting <- struct{}{}:
		case <-l.done:
			c.Close()
			return
		}
		go l.await(c)
	}
}

// reserve takes a place for one more connection, if the server holds
// fewer than Max or an idle one can be closed to make room (its place
// then passes to the newcomer), and reports whether it took one.
func (l *Listener) reserve() bool {
	if l.o.Max <= 0 {
		l.open.Add(1)
		return true
	}
	for n := l.open.Load(); n < int64(l.o.Max); n = l.open.Load() {
		if l.open.CompareAndSwap(n, n+1) {
			return true
		}
	}
	return l.closeIdle()
}

// serve hands c, its place reserved, to the server.
func (l *Listener) serve(c net.Conn) bool {
	if l.deliver(accepted{conn: c}) {
		return true
	}
	l.open.Add(-1)
	c.Close()
	return false
}

func (l *Listener) deliver(a accepted) bool {
	select {
	case l.ready <- a:
		return true
	case <-l.done:
		return false
	}
}

// closeIdle closes the server's connection idle longest, if it has been
// idle MinIdle, and reports whether it did. A caller reuses its most
// recent idle connection first (Go's and nginx's pools do), so the
// longest idle is the least likely to carry a request as it closes.
func (l *Listener) closeIdle() bool {
	l.mu.Lock()
	e := l.idle.Front()
	if e == nil || l.o.now().Sub(e.Value.(idleConn).since) < l.o.MinIdle {
		l.mu.Unlock()
		return false
	}
	c := l.idle.Remove(e).(idleConn).conn
	delete(l.at, c)
	l.shut[c] = true // its place is the newcomer's: its close is not counted
	l.mu.Unlock()
	c.Close()
	return true
}

// connState follows the server's connections: new, then active and idle
// in turn as requests come, and closed or hijacked from any of them.
func (l *Listener) connState(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.at[c]; ok {
		l.idle.Remove(e)
		delete(l.at, c)
	}
	switch s {
	case http.StateIdle:
		if !l.shut[c] {
			l.at[c] = l.idle.PushBack(idleConn{c, l.o.now()})
		}
	case http.StateClosed, http.StateHijacked:
		if l.shut[c] {
			delete(l.shut, c)
		} else {
			l.open.Add(-1)
		}
	}
}

// headBytes is as much of a waiting connection's request as is read
// before deciding on it: its request line and, usually, its headers.
const headBytes = 2048

var heads = sync.Pool{New: func() any { b := make([]byte, headBytes); return &b }}

// await waits for the request on a connection that arrived at the bound,
// then hands the connection to the server if there is room or Pass lets
// the request through, and refuses it otherwise.
func (l *Listener) await(c net.Conn) {
	defer func() { <-l.waiting }()
	_ = c.SetReadDeadline(time.Now().Add(l.o.RequestWait))
	var first [1]byte // no buffer is taken until the request starts
	if _, err := io.ReadFull(c, first[:]); err != nil {
		c.Close()
		return
	}
	bp := heads.Get().(*[]byte)
	defer heads.Put(bp)
	buf := *bp
	buf[0] = first[0]
	n := 1
	for n < len(buf) && !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			break
		}
	}
	line, _, found := bytes.Cut(buf[:n], []byte("\r\n"))
	if !found {
		c.Close()
		return
	}
	pass := l.o.Pass != nil && l.o.Pass(line)
	if pass {
		l.open.Add(1) // over the bound
	}
	if pass || l.reserve() {
		_ = c.SetReadDeadline(time.Time{})
		l.serve(&replayed{Conn: c, head: append([]byte(nil), buf[:n]...)})
		return
	}
	l.refuse(c, buf)
}

// refuse writes the refusal to c and closes it.
func (l *Listener) refuse(c net.Conn, buf []byte) {
	l.refused.Add(1)
	if l.o.Refused != nil {
		l.o.Refused()
	}
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write(l.o.Refusal); err != nil {
		c.Close()
		return
	}
	// Half-close, and read what the caller still sends until it closes:
	// closing with its request body unread would reset the connection,
	// and a reset can discard the answer before the caller reads it.
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	_, _ = io.CopyBuffer(io.Discard, c, buf)
	c.Close()
}

// replayed is a connection whose first bytes, read to decide on it, the
// server reads again.
type replayed struct {
	net.Conn
	head []byte
}

// CloseWrite half-closes the connection, as net/http does before it
// closes one on an error.
func (r *replayed) CloseWrite() error {
	if hc, ok := r.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return nil
}

func (r *replayed) Read(p []byte) (int, error) {
	if len(r.head) > 0 {
		n := copy(p, r.head)
		r.head = r.head[n:]
		return n, nil
	}
	return r.Conn.Read(p)
}
