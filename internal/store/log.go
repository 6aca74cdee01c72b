package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/drawlog"
)

var _ participant.LogQueries = queries{}

// logRanges builds the compact ranges of the log's RFC 6962 tree.
var logRanges = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// logBatch bounds the rows one INSERT writes.
const logBatch = 1000

// logLockKey names the transaction-level advisory lock of WithLogLock; the
// schema is mixed in so that separate schemas (one per test) do not share
// it.
const logLockKey = "telegive-participant-service:log:"

// logLockPoll is how often a caller waiting for the log lock tries again.
const logLockPoll = 50 * time.Millisecond

// head reads the log's head row, locked until the transaction ends on
// Postgres (SQLite's single connection already serialises), and returns
// the compact range of [0, size).
func (q queries) head(ctx context.Context, lock bool) (*compact.Range, error) {
	clause := ""
	if lock && q.postgres {
		clause = " FOR UPDATE"
	}
	var (
		size   int64
		packed []byte
	)
	if err := q.db.QueryRowContext(ctx, "SELECT size, compact FROM log_head WHERE id = 1"+clause).Scan(&size, &packed); err != nil {
		return nil, wrap("read the log head", err)
	}
	if len(packed)%32 != 0 {
		return nil, fmt.Errorf("store: the log head's compact range is %d bytes, not a multiple of 32", len(packed))
	}
	hashes := make([][]byte, len(packed)/32)
	for i := range hashes {
		hashes[i] = packed[i*32 : (i+1)*32]
	}
	r, err := logRanges.NewRange(0, uint64(size), hashes)
	if err != nil {
		return nil, fmt.Errorf("store: the log head: %w", err)
	}
	return r, nil
}

// logNode is a row of log_nodes.
type logNode struct {
	level uint
	index uint64
	hash  []byte
}

func (q queries) AppendLog(ctx context.Context, entries ...participant.LogAppend) ([]uint64, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	seen := make(map[int64]bool, len(entries))
	for _, e := range entries {
		if seen[e.GiveawayID] {
			return nil, fmt.Errorf("store: append log: giveaway %d has two entries in one append", e.GiveawayID)
		}
		seen[e.GiveawayID] = true
	}
	r, err := q.head(ctx, true)
	if err != nil {
		return nil, err
	}
	start := r.End()
	var nodes []logNode
	visit := func(id compact.NodeID, h []byte) {
		nodes = append(nodes, logNode{id.Level, id.Index, bytes.Clone(h)})
	}
	indices := make([]uint64, len(entries))
	for i, e := range entries {
		indices[i] = start + uint64(i)
		if err := r.Append(rfc6962.DefaultHasher.HashLeaf(e.Data), visit); err != nil {
			return nil, fmt.Errorf("store: append log: %w", err)
		}
	}
	for lo := 0; lo < len(entries); lo += logBatch {
		hi := min(lo+logBatch, len(entries))
		var b strings.Builder
		args := make([]any, 0, 4*(hi-lo))
		b.WriteString("INSERT INTO log_entries (idx, giveaway_id, type, data) VALUES ")
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?)")
			e := entries[i]
			args = append(args, int64(indices[i]), e.GiveawayID, string(e.Type), e.Data)
		}
		if _, err := q.db.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, wrap("append log entries", err)
		}
	}
	for lo := 0; lo < len(nodes); lo += logBatch {
		hi := min(lo+logBatch, len(nodes))
		var b strings.Builder
		args := make([]any, 0, hi-lo)
		b.WriteString("INSERT INTO log_nodes (level, idx, hash) VALUES ")
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			n := nodes[i]
			fmt.Fprintf(&b, "(%d, %d, ?)", n.level, n.index)
			args = append(args, n.hash)
		}
		if _, err := q.db.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, wrap("append log nodes", err)
		}
	}
	if _, err := q.db.ExecContext(ctx, "UPDATE log_head SET size = ?, compact = ? WHERE id = 1",
		int64(r.End()), bytes.Join(r.Hashes(), nil)); err != nil {
		return nil, wrap("append log head", err)
	}
	for lo := 0; lo < len(entries); lo += logBatch {
		hi := min(lo+logBatch, len(entries))
		var b strings.Builder
		b.WriteString("WITH v (giveaway_id, seq, idx) AS (VALUES ")
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, %d, %d)", entries[i].GiveawayID, entries[i].Seq, indices[i])
		}
		b.WriteString(`) UPDATE draws SET log_seq = v.seq + 1, log_last = v.idx FROM v
			WHERE draws.giveaway_id = v.giveaway_id AND draws.log_seq = v.seq`)
		res, err := q.db.ExecContext(ctx, b.String())
		if err != nil {
			return nil, wrap("append log: advance the giveaways", err)
		}
		if err := expectRows(res, int64(hi-lo), "append log: advance the giveaways (a draw row missing, or not at the entry's seq)"); err != nil {
			return nil, err
		}
	}
	return indices, nil
}

func (q queries) LogHead(ctx context.Context) (participant.LogHead, error) {
	r, err := q.head(ctx, false)
	if err != nil {
		return participant.LogHead{}, err
	}
	h := participant.LogHead{Size: r.End(), Root: drawlog.EmptyRoot}
	if r.End() > 0 {
		root, err := r.GetRootHash(nil)
		if err != nil {
			return participant.LogHead{}, fmt.Errorf("store: log root: %w", err)
		}
		h.Root = drawlog.Hash(root)
	}
	return h, nil
}

func (q queries) scanEntries(ctx context.Context, query string, args ...any) ([]participant.LogEntry, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap("read log entries", err)
	}
	defer rows.Close()
	out := []participant.LogEntry{}
	for rows.Next() {
		var (
			e   participant.LogEntry
			idx int64
			typ string
		)
		if err := rows.Scan(&idx, &e.GiveawayID, &typ, &e.Data); err != nil {
			return nil, wrap("read log entries", err)
		}
		e.Index, e.Type = uint64(idx), drawlog.Type(typ)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("read log entries", err)
	}
	return out, nil
}

func (q queries) LogEntries(ctx context.Context, start, end uint64) ([]participant.LogEntry, error) {
	if end <= start {
		return []participant.LogEntry{}, nil
	}
	return q.scanEntries(ctx, "SELECT idx, giveaway_id, type, data FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx",
		int64(start), int64(end))
}

func (q queries) GiveawayLog(ctx context.Context, giveawayID int64) ([]participant.LogEntry, error) {
	return q.scanEntries(ctx, "SELECT idx, giveaway_id, type, data FROM log_entries WHERE giveaway_id = ? ORDER BY idx", giveawayID)
}

// nodeHashes reads the hashes of the given perfect subtrees, in order.
func (q queries) nodeHashes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var b strings.Builder
	b.WriteString("SELECT level, idx, hash FROM log_nodes WHERE (level, idx) IN (")
	at := make(map[compact.NodeID][]int, len(ids))
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, %d)", id.Level, id.Index)
		at[id] = append(at[id], i)
	}
	b.WriteString(")")
	rows, err := q.db.QueryContext(ctx, b.String())
	if err != nil {
		return nil, wrap("read log nodes", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			level int
			idx   int64
			hash  []byte
		)
		if err := rows.Scan(&level, &idx, &hash); err != nil {
			return nil, wrap("read log nodes", err)
		}
		for _, i := range at[compact.NewNodeID(uint(level), uint64(idx))] {
			out[i] = hash
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("read log nodes", err)
	}
	for i, h := range out {
		if len(h) != 32 {
			return nil, fmt.Errorf("store: log node (%d, %d) is missing", ids[i].Level, ids[i].Index)
		}
	}
	return out, nil
}

// proofHashes reads the nodes of a proof and rehashes its ephemeral node.
func (q queries) proofHashes(ctx context.Context, nodes proof.Nodes) ([]drawlog.Hash, error) {
	hashes, err := q.nodeHashes(ctx, nodes.IDs)
	if err != nil {
		return nil, err
	}
	hashes, err = nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("store: log proof: %w", err)
	}
	return drawlog.HashesFromBytes(hashes)
}

// checkSize refuses a tree size beyond the log's.
func (q queries) checkSize(ctx context.Context, size uint64) error {
	r, err := q.head(ctx, false)
	if err != nil {
		return err
	}
	if size > r.End() {
		return fmt.Errorf("store: tree size %d is beyond the log's %d", size, r.End())
	}
	return nil
}

func (q queries) LogInclusionProof(ctx context.Context, index, size uint64) ([]drawlog.Hash, error) {
	if err := q.checkSize(ctx, size); err != nil {
		return nil, err
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("store: inclusion proof: %w", err)
	}
	return q.proofHashes(ctx, nodes)
}

func (q queries) LogConsistencyProof(ctx context.Context, first, second uint64) ([]drawlog.Hash, error) {
	if err := q.checkSize(ctx, second); err != nil {
		return nil, err
	}
	nodes, err := proof.Consistency(first, second)
	if err != nil {
		return nil, fmt.Errorf("store: consistency proof: %w", err)
	}
	return q.proofHashes(ctx, nodes)
}

func (q queries) SaveCheckpoint(ctx context.Context, size uint64, signedNote string) error {
	_, err := q.db.ExecContext(ctx, "INSERT INTO log_checkpoints (tree_size, note) VALUES (?, ?) ON CONFLICT (tree_size) DO NOTHING",
		int64(size), signedNote)
	return wrapErr("save checkpoint", err)
}

func (q queries) Checkpoints(ctx context.Context, minSize uint64, limit int) ([]participant.StoredCheckpoint, error) {
	return q.checkpoints(ctx, "SELECT tree_size, note FROM log_checkpoints WHERE tree_size >= ? ORDER BY tree_size LIMIT ?",
		int64(minSize), limit)
}

func (q queries) LatestCheckpoint(ctx context.Context) (participant.StoredCheckpoint, error) {
	cs, err := q.checkpoints(ctx, "SELECT tree_size, note FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1")
	if err != nil {
		return participant.StoredCheckpoint{}, err
	}
	if len(cs) == 0 {
		return participant.StoredCheckpoint{}, participant.ErrNotFound
	}
	return cs[0], nil
}

// LatestCosignedCheckpoint walks down from below, each step to the
// largest size a quorum may have cosigned (cosignedCandidate), and stops
// at the first that has it: one step when the witnesses cosign the same
// checkpoints, even if one of them has cosigned nothing for a long time.
func (q queries) LatestCosignedCheckpoint(ctx context.Context, witnesses []string, quorum int, below uint64) (participant.StoredCheckpoint, error) {
	if quorum < 1 {
		return participant.StoredCheckpoint{}, fmt.Errorf("store: a quorum of %d witnesses", quorum)
	}
	names := slices.Compact(slices.Sorted(slices.Values(witnesses)))
	if quorum > len(names) {
		return participant.StoredCheckpoint{}, participant.ErrNotFound
	}
	bound := int64(min(below, math.MaxInt64))
	for bound > 0 {
		size, count, found, err := q.cosignedCandidate(ctx, names, quorum, bound)
		if err != nil {
			return participant.StoredCheckpoint{}, err
		}
		if !found {
			break
		}
		if count >= quorum {
			cs, err := q.checkpoints(ctx, "SELECT tree_size, note FROM log_checkpoints WHERE tree_size = ?", size)
			if err != nil {
				return participant.StoredCheckpoint{}, err
			}
			if len(cs) == 0 {
				return participant.StoredCheckpoint{}, fmt.Errorf("store: the checkpoint of size %d has cosignatures but no row", size)
			}
			return cs[0], nil
		}
		bound = size
	}
	return participant.StoredCheckpoint{}, participant.ErrNotFound
}

// cosignedCandidate returns the largest tree size below bound that at
// least quorum of the witnesses may have cosigned, and how many did: each
// witness's latest cosigned size below bound is one probe of
// log_cosignatures_witness_size, and no size above the quorum-th largest
// of those has a quorum. There is none when fewer than quorum witnesses
// cosigned anything below bound.
func (q queries) cosignedCandidate(ctx context.Context, names []string, quorum int, bound int64) (size int64, count int, found bool, err error) {
	var b strings.Builder
	args := make([]any, 0, 3*len(names)+1)
	b.WriteString("WITH latest (size) AS (")
	for i, name := range names {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT (SELECT tree_size FROM log_cosignatures WHERE witness = ? AND tree_size < ? ORDER BY tree_size DESC LIMIT 1)")
		args = append(args, name, bound)
	}
	b.WriteString("), candidate (size) AS (SELECT size FROM latest WHERE size IS NOT NULL ORDER BY size DESC LIMIT 1 OFFSET ?)")
	args = append(args, quorum-1)
	b.WriteString(" SELECT size, (SELECT count(*) FROM log_cosignatures WHERE tree_size = candidate.size AND witness IN (")
	for i, name := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("?")
		args = append(args, name)
	}
	b.WriteString(")) FROM candidate")
	err = q.db.QueryRowContext(ctx, b.String(), args...).Scan(&size, &count)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, wrap("find the latest cosigned checkpoint", err)
	}
	return size, count, true, nil
}

// checkpoints reads checkpoints and then their cosignatures.
func (q queries) checkpoints(ctx context.Context, query string, args ...any) ([]participant.StoredCheckpoint, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap("read checkpoints", err)
	}
	var out []participant.StoredCheckpoint
	for rows.Next() {
		var (
			size int64
			c    participant.StoredCheckpoint
		)
		if err := rows.Scan(&size, &c.Note); err != nil {
			rows.Close()
			return nil, wrap("read checkpoints", err)
		}
		c.Size = uint64(size)
		out = append(out, c)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, wrap("read checkpoints", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	sizes := make([]string, len(out))
	at := make(map[uint64]int, len(out))
	for i, c := range out {
		sizes[i] = strconv.FormatUint(c.Size, 10)
		at[c.Size] = i
	}
	rows, err = q.db.QueryContext(ctx, "SELECT tree_size, witness, signature FROM log_cosignatures WHERE tree_size IN ("+
		strings.Join(sizes, ", ")+") ORDER BY tree_size, witness")
	if err != nil {
		return nil, wrap("read cosignatures", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			size    int64
			witness string
			sig     string
		)
		if err := rows.Scan(&size, &witness, &sig); err != nil {
			return nil, wrap("read cosignatures", err)
		}
		s, err := noteSignature(witness, sig)
		if err != nil {
			return nil, err
		}
		i := at[uint64(size)]
		out[i].Cosignatures = append(out[i].Cosignatures, s)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("read cosignatures", err)
	}
	return out, nil
}

// noteSignature rebuilds a note signature line from its name and base64,
// whose first four bytes are the key hash.
func noteSignature(name, b64 string) (note.Signature, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < 4 {
		return note.Signature{}, fmt.Errorf("store: cosignature of %s is not a note signature", name)
	}
	return note.Signature{Name: name, Hash: binary.BigEndian.Uint32(raw), Base64: b64}, nil
}

func (q queries) SaveCosignatures(ctx context.Context, size uint64, sigs []note.Signature) error {
	for _, s := range sigs {
		if _, err := noteSignature(s.Name, s.Base64); err != nil {
			return err
		}
		if _, err := q.db.ExecContext(ctx, `INSERT INTO log_cosignatures (tree_size, witness, signature) VALUES (?, ?, ?)
			ON CONFLICT (tree_size, witness) DO NOTHING`, int64(size), s.Name, s.Base64); err != nil {
			return wrap("save cosignature", err)
		}
	}
	return nil
}

func (q queries) WitnessSizes(ctx context.Context) (map[string]uint64, error) {
	rows, err := q.db.QueryContext(ctx, "SELECT witness, size FROM log_witnesses")
	if err != nil {
		return nil, wrap("read witness sizes", err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var (
			name string
			size int64
		)
		if err := rows.Scan(&name, &size); err != nil {
			return nil, wrap("read witness sizes", err)
		}
		out[name] = uint64(size)
	}
	return out, wrapErr("read witness sizes", rows.Err())
}

func (q queries) SaveWitnessSizes(ctx context.Context, sizes map[string]uint64) error {
	greatest := "GREATEST"
	if !q.postgres {
		greatest = "max"
	}
	for name, size := range sizes {
		if _, err := q.db.ExecContext(ctx, `INSERT INTO log_witnesses (witness, size) VALUES (?, ?)
			ON CONFLICT (witness) DO UPDATE SET size = `+greatest+`(log_witnesses.size, excluded.size)`, name, int64(size)); err != nil {
			return wrap("save witness size", err)
		}
	}
	return nil
}

func (q queries) EnsureLogKey(ctx context.Context, fresh participant.LogKeyPair) (participant.LogKeyPair, error) {
	if fresh.Signer != "" {
		if _, err := q.db.ExecContext(ctx, `INSERT INTO log_signing_key (id, signer_key, verifier_key) VALUES (1, ?, ?)
			ON CONFLICT (id) DO NOTHING`, fresh.Signer, fresh.Verifier); err != nil {
			return participant.LogKeyPair{}, wrap("save the log key", err)
		}
	}
	var k participant.LogKeyPair
	err := q.db.QueryRowContext(ctx, "SELECT signer_key, verifier_key FROM log_signing_key WHERE id = 1").Scan(&k.Signer, &k.Verifier)
	if errors.Is(err, sql.ErrNoRows) {
		return participant.LogKeyPair{}, participant.ErrNotFound
	}
	return k, wrapErr("read the log key", err)
}

// WithLogLock runs fn holding a transaction-level advisory lock on
// Postgres (xactLock), which works through PgBouncer in transaction
// pooling mode (a session-level lock would not). fn itself uses the pool,
// and callers waiting for the lock hold no connection. On SQLite, whose
// one process owns the file and whose single connection fn needs, a
// semaphore of this Store stands in.
func (s *Store) WithLogLock(ctx context.Context, fn func(ctx context.Context) error) error {
	if !s.postgres {
		select {
		case s.logSem <- struct{}{}:
		case <-ctx.Done():
			return wrap("log lock", ctx.Err())
		}
		defer func() { <-s.logSem }()
		return fn(ctx)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return wrap("acquire a connection", err)
	}
	defer conn.Close()
	released := false
	defer func() {
		if !released {
			// Closing the connection ends the transaction, and the lock,
			// on the server.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if err := xactLock(ctx, conn.Conn, logLockKey, logLockPoll); err != nil {
		return wrap("log lock", err)
	}
	ferr := fn(ctx)
	// The transaction wrote nothing; ending it releases the lock, even
	// when fn ran out ctx's time.
	end, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(end, "COMMIT"); err != nil {
		return errors.Join(ferr, wrap("log lock: release", err))
	}
	released = true
	return ferr
}

// wrapErr is wrap for a nil-able error.
func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return wrap(what, err)
}
