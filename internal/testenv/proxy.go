package testenv

import (
	"bytes"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to a server and can cut them, to play a
// dependency that goes away and comes back on the same address, or hold
// them, to play a network partition.
type Proxy struct {
	tb     testing.TB
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	// healed is non-nil while paused and closed by Resume.
	healed chan struct{}
	// trigger, when set, pauses the proxy as a client sends it.
	trigger []byte
}

// NewProxy starts a proxy to target on a free local port.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{tb: tb, target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	tb.Cleanup(p.Stop)
	return p
}

// Addr is the proxy's address, stable across Stop and Start.
func (p *Proxy) Addr() string { return p.addr }

// Stop closes the listener and every open connection: the dependency is
// gone.
func (p *Proxy) Stop() {
	p.Resume()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

// Start listens again on the same address: the dependency is back.
func (p *Proxy) Start() {
	p.tb.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.tb.Fatalf("proxy restart: %v", err)
	}
	p.serve(ln)
}

// Pause stops forwarding in both directions without closing or refusing
// anything, as a network partition does: connections stay open and new
// ones are accepted, but no byte goes through until Resume, when what was
// held back is delivered (as TCP would retransmit it).
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.healed == nil {
		p.healed = make(chan struct{})
	}
}

// PauseOn pauses the proxy, as Pause does, the moment a client sends
// bytes containing trigger, before they reach the server: a partition
// that begins in the middle of a conversation, after the exchanges before
// it went through. It pauses once; Resume ends it.
func (p *Proxy) PauseOn(trigger string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.trigger = []byte(trigger)
}

// tripped pauses the proxy if chunk holds the trigger.
func (p *Proxy) tripped(chunk []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.trigger != nil && bytes.Contains(chunk, p.trigger) {
		p.trigger = nil
		if p.healed == nil {
			p.healed = make(chan struct{})
		}
	}
}

// Resume ends a Pause.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.healed != nil {
		close(p.healed)
		p.healed = nil
	}
}

// wait blocks while the proxy is paused.
func (p *Proxy) wait() {
	p.mu.Lock()
	healed := p.healed
	p.mu.Unlock()
	if healed != nil {
		<-healed
	}
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *Proxy) forward(c net.Conn) {
	p.wait()
	p.mu.Lock()
	target := p.target // SetTarget may switch it
	p.mu.Unlock()
	up, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if src == c {
					p.tripped(buf[:n])
				}
				p.wait()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}
