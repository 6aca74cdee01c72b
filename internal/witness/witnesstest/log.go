package witnesstest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/drawlog"
)

// A Log is an in-memory log with a fresh Ed25519 key, to feed witnesses in
// tests.
type Log struct {
	origin string
	signer note.Signer
	vkey   string

	mu      sync.Mutex
	entries [][]byte
	tree    *testonly.Tree
}

// NewLog returns an empty log of the origin.
func NewLog(tb testing.TB, origin string) *Log {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return &Log{origin: origin, signer: signer, vkey: vkey, tree: testonly.New(rfc6962.DefaultHasher)}
}

// Origin returns the log's origin.
func (l *Log) Origin() string { return l.origin }

// VerifierKey returns the log's note verifier key.
func (l *Log) VerifierKey() string { return l.vkey }

// Append adds entries.
func (l *Log) Append(entries ...[]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, entries...)
	l.tree.AppendData(entries...)
}

// AppendN adds n entries named after tag.
func (l *Log) AppendN(n int, tag string) {
	for i := range n {
		l.Append(fmt.Appendf(nil, "%s %d", tag, i))
	}
}

// Size returns the number of entries.
func (l *Log) Size() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tree.Size()
}

// Checkpoint returns the signed checkpoint note of the log as it is.
func (l *Log) Checkpoint(tb testing.TB) string {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	signed, err := drawlog.SignCheckpoint(l.signer, l.origin, l.tree.Size(), drawlog.Hash(l.tree.Hash()))
	if err != nil {
		tb.Fatal(err)
	}
	return signed
}

// Consistency returns the consistency proof between two sizes; it has the
// type of witness.ConsistencyFunc.
func (l *Log) Consistency(_ context.Context, from, to uint64) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if to > l.tree.Size() || from > to {
		return nil, fmt.Errorf("witnesstest: no proof from %d to %d in a log of %d", from, to, l.tree.Size())
	}
	return l.tree.ConsistencyProof(from, to)
}

// Fork returns a log with the same key and origin holding only the first
// keep entries: a rewrite of the log from there on.
func (l *Log) Fork(keep uint64) *Log {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := &Log{origin: l.origin, signer: l.signer, vkey: l.vkey, tree: testonly.New(rfc6962.DefaultHasher)}
	f.entries = append(f.entries, l.entries[:keep]...)
	f.tree.AppendData(f.entries...)
	return f
}
