package drawlog

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// Protocol versions a commit entry may name.
const (
	VersionV1 = "telegive-draw-v1"
	VersionV2 = "telegive-draw-v2"
)

// MaxNumber is the largest value of a JSON number in an entry, 2^53-1: every
// integer up to it is exact as an IEEE double, which RFC 8785 numbers are.
const MaxNumber = 1<<53 - 1

// MaxEntrySize bounds the bytes of one entry that [Parse] reads.
const MaxEntrySize = 1 << 20

// TimeLayout is the only form of a time in an entry: RFC 3339, UTC, whole
// seconds.
const TimeLayout = "2006-01-02T15:04:05Z"

// Type names the kind of an entry; it is the entry's "type" member.
type Type string

// The entry types.
const (
	TypeCommit        Type = "commit"
	TypeFreeze        Type = "freeze"
	TypeDraw          Type = "draw"
	TypeRedrawRequest Type = "redraw-request"
	TypeRedraw        Type = "redraw"
	TypeLegacy        Type = "legacy"
)

// Hash is a 32-byte value: a SHA-256 digest or a seed. Its JSON form is 64
// lowercase hex characters.
type Hash [32]byte

// String returns h as lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash decodes exactly 64 lowercase hex characters.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("want %d lowercase hex characters, got %d characters", 2*len(h), len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return h, fmt.Errorf("want lowercase hex, got %q at offset %d", c, i)
		}
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, err
	}
	return h, nil
}

// Header holds the members every entry has besides its type.
type Header struct {
	// GiveawayID is the giveaway the entry belongs to, 1..2^63-1; in JSON a
	// string of its decimal value.
	GiveawayID int64
	// Seq numbers the giveaway's entries: 0 for its first, then one more
	// for each.
	Seq uint64
	// Prev is the log index of the giveaway's previous entry, nil (JSON
	// null) for its first.
	Prev *uint64
}

// Head returns the header.
func (h Header) Head() Header { return h }

// An Entry is one of [Commit], [Freeze], [Draw], [RedrawRequest], [Redraw]
// and [Legacy].
type Entry interface {
	// Type returns the entry's type.
	Type() Type
	// Head returns the members every entry has.
	Head() Header
	isEntry()
}

// Commit opens a giveaway: it fixes the commitment to the server seed and the
// protocol version, and with them every later rule.
type Commit struct {
	Header
	// Commitment is SHA-256(server_seed).
	Commitment Hash
	// Version is VersionV1 or VersionV2.
	Version string
	// ChainHash is the pinned drand chain; nil (null) for v1.
	ChainHash *Hash
	// BeaconDelay is the whole seconds between the freeze and the beacon
	// round: 0 for v1, at least 1 for v2.
	BeaconDelay uint64
	// MaxTickets is the most tickets one entrant may hold: 1 for v1.
	MaxTickets uint64
	// RulesSHA256 is the SHA-256 of the giveaway's rules; nil (null) when
	// it has none.
	RulesSHA256 *Hash
	// CommittedAt is when the commitment was published.
	CommittedAt time.Time
}

// Freeze closes registration and fixes the entrants.
type Freeze struct {
	Header
	// Commitment repeats the commit's.
	Commitment Hash
	// EntrantsRoot is the root of the entrant tree (v1: RFC 6962 over user
	// ids; v2: the Merkle sum tree over user ids and tickets).
	EntrantsRoot Hash
	// EntrantsCount is N.
	EntrantsCount uint64
	// TotalTickets is T, the sum of the tickets: N for v1.
	TotalTickets uint64
	// WinnerCount is the k requested.
	WinnerCount uint64
	// BeaconRound is the drand round the draw waits for; nil (null) for v1.
	BeaconRound *uint64
	// FrozenAt is when registration closed.
	FrozenAt time.Time
}

// Draw reveals the server seed and the winners.
type Draw struct {
	Header
	// ServerSeed is the 32-byte seed behind the commitment.
	ServerSeed Hash
	// DrawSeed is the seed of the selection stream.
	DrawSeed Hash
	// BeaconRound repeats the freeze's: nil (null) for v1.
	BeaconRound *uint64
	// Winners are the user ids by position: Winners[0] holds position 1.
	// It may be empty; it is never nil in JSON (an empty array).
	Winners []int64
	// DrawnAt is when the winners were drawn.
	DrawnAt time.Time
}

// A Disqualification names a current winner to replace and why.
type Disqualification struct {
	// UserID is the disqualified winner.
	UserID int64
	// Reason says why, for the public record; never empty.
	Reason string
}

// RedrawRequest fixes a redraw round before its randomness is known.
type RedrawRequest struct {
	Header
	// Round is 1 for the giveaway's first redraw, then one more for each.
	Round uint64
	// Disqualified lists current winners in ascending order of their
	// position; never empty.
	Disqualified []Disqualification
	// BeaconRound is the round's own drand round; nil (null) for v1.
	BeaconRound *uint64
	// RequestedAt is when the round was requested.
	RequestedAt time.Time
}

// NoReplacement stands, in [Redraw.Replacements], for a position left empty
// because no unchosen entrant was left; it is JSON null.
const NoReplacement int64 = 0

// Redraw records a redraw round's replacements.
type Redraw struct {
	Header
	// Round is the round of the request it completes.
	Round uint64
	// Replacements holds, for each disqualified winner in the request's
	// order, the user id that takes its position, or NoReplacement.
	Replacements []int64
	// RedrawnAt is when the replacements were drawn.
	RedrawnAt time.Time
}

// Legacy stands for a v1 record that existed before the log: it is that
// giveaway's first entry.
type Legacy struct {
	Header
	// RecordSHA256 is the SHA-256 of the record's RFC 8785 canonical JSON
	// (see [RecordSHA256]).
	RecordSHA256 Hash
}

// Type returns TypeCommit.
func (Commit) Type() Type { return TypeCommit }

// Type returns TypeFreeze.
func (Freeze) Type() Type { return TypeFreeze }

// Type returns TypeDraw.
func (Draw) Type() Type { return TypeDraw }

// Type returns TypeRedrawRequest.
func (RedrawRequest) Type() Type { return TypeRedrawRequest }

// Type returns TypeRedraw.
func (Redraw) Type() Type { return TypeRedraw }

// Type returns TypeLegacy.
func (Legacy) Type() Type { return TypeLegacy }

func (Commit) isEntry()        {}
func (Freeze) isEntry()        {}
func (Draw) isEntry()          {}
func (RedrawRequest) isEntry() {}
func (Redraw) isEntry()        {}
func (Legacy) isEntry()        {}

// Marshal returns the entry's RFC 8785 canonical JSON, the bytes the log
// stores and hashes. It refuses an entry that [Parse] would refuse: an id
// out of range, a number above MaxNumber, a time with fractions of a second,
// a v1 commit with v2 fields or the reverse, and so on.
func Marshal(e Entry) ([]byte, error) {
	obj, err := members(e)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("drawlog: %w", err)
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("drawlog: canonicalizing: %w", err)
	}
	return out, nil
}

// members validates e and returns its JSON object.
func members(e Entry) (map[string]any, error) {
	if e == nil {
		return nil, errors.New("drawlog: nil entry")
	}
	var w writer
	h := e.Head()
	w.id("giveaway_id", h.GiveawayID)
	w.number("seq", h.Seq)
	w.nullableNumber("prev", h.Prev)
	switch e := e.(type) {
	case Commit:
		commitMembers(&w, e)
	case *Commit:
		commitMembers(&w, *e)
	case Freeze:
		freezeMembers(&w, e)
	case *Freeze:
		freezeMembers(&w, *e)
	case Draw:
		drawMembers(&w, e)
	case *Draw:
		drawMembers(&w, *e)
	case RedrawRequest:
		redrawRequestMembers(&w, e)
	case *RedrawRequest:
		redrawRequestMembers(&w, *e)
	case Redraw:
		redrawMembers(&w, e)
	case *Redraw:
		redrawMembers(&w, *e)
	case Legacy:
		w.hash("record_sha256", e.RecordSHA256)
	case *Legacy:
		w.hash("record_sha256", e.RecordSHA256)
	}
	w.set("type", string(e.Type()))
	if w.err != nil {
		return nil, fmt.Errorf("drawlog: %s entry: %w", e.Type(), w.err)
	}
	return w.obj, nil
}

func commitMembers(w *writer, e Commit) {
	w.hash("commitment", e.Commitment)
	w.set("version", e.Version)
	w.nullableHash("chain_hash", e.ChainHash)
	w.number("beacon_delay", e.BeaconDelay)
	w.number("max_tickets", e.MaxTickets)
	w.nullableHash("rules_sha256", e.RulesSHA256)
	w.time("committed_at", e.CommittedAt)
	w.check(checkCommitShape(e))
}

func freezeMembers(w *writer, e Freeze) {
	w.hash("commitment", e.Commitment)
	w.hash("entrants_root", e.EntrantsRoot)
	w.number("entrants_count", e.EntrantsCount)
	w.number("total_tickets", e.TotalTickets)
	w.number("winner_count", e.WinnerCount)
	w.beaconRound(e.BeaconRound)
	w.time("frozen_at", e.FrozenAt)
	if e.TotalTickets < e.EntrantsCount {
		w.check(fmt.Errorf("total_tickets %d is below entrants_count %d: every entrant holds a ticket", e.TotalTickets, e.EntrantsCount))
	}
}

func drawMembers(w *writer, e Draw) {
	w.hash("server_seed", e.ServerSeed)
	w.hash("draw_seed", e.DrawSeed)
	w.beaconRound(e.BeaconRound)
	w.set("winners", w.userIDs("winners", e.Winners, false))
	w.time("drawn_at", e.DrawnAt)
}

func redrawRequestMembers(w *writer, e RedrawRequest) {
	w.round(e.Round)
	if len(e.Disqualified) == 0 {
		w.check(errors.New("disqualified is empty"))
	}
	list := make([]any, len(e.Disqualified))
	ids := make([]int64, len(e.Disqualified))
	for i, d := range e.Disqualified {
		ids[i] = d.UserID
		if d.Reason == "" || !utf8.ValidString(d.Reason) {
			w.check(fmt.Errorf("disqualified[%d].reason must be non-empty UTF-8", i))
		}
		list[i] = map[string]any{"user_id": strconv.FormatInt(d.UserID, 10), "reason": d.Reason}
	}
	w.userIDs("disqualified user_id", ids, false)
	w.set("disqualified", list)
	w.beaconRound(e.BeaconRound)
	w.time("requested_at", e.RequestedAt)
}

func redrawMembers(w *writer, e Redraw) {
	w.round(e.Round)
	if len(e.Replacements) == 0 {
		w.check(errors.New("replacements is empty"))
	}
	w.set("replacements", w.userIDs("replacements", e.Replacements, true))
	w.time("redrawn_at", e.RedrawnAt)
}

// checkCommitShape holds a commit to its version's shape.
func checkCommitShape(e Commit) error {
	switch e.Version {
	case VersionV1:
		switch {
		case e.ChainHash != nil:
			return errors.New("a v1 commit has chain_hash null")
		case e.BeaconDelay != 0:
			return errors.New("a v1 commit has beacon_delay 0")
		case e.MaxTickets != 1:
			return errors.New("a v1 commit has max_tickets 1")
		}
	case VersionV2:
		switch {
		case e.ChainHash == nil:
			return errors.New("a v2 commit names its chain_hash")
		case e.BeaconDelay < 1:
			return errors.New("a v2 commit has beacon_delay of at least 1")
		case e.MaxTickets < 1:
			return errors.New("a v2 commit has max_tickets of at least 1")
		}
	default:
		return fmt.Errorf("unknown version %q", e.Version)
	}
	return nil
}

// writer builds an entry's JSON object, keeping the first error.
type writer struct {
	obj map[string]any
	err error
}

func (w *writer) set(name string, v any) {
	if w.obj == nil {
		w.obj = make(map[string]any, 12)
	}
	w.obj[name] = v
}

func (w *writer) check(err error) {
	if w.err == nil && err != nil {
		w.err = err
	}
}

func (w *writer) id(name string, v int64) {
	if v < 1 {
		w.check(fmt.Errorf("%s %d is not in 1..2^63-1", name, v))
	}
	w.set(name, strconv.FormatInt(v, 10))
}

func (w *writer) number(name string, v uint64) {
	if v > MaxNumber {
		w.check(fmt.Errorf("%s %d is above 2^53-1", name, v))
	}
	w.set(name, v)
}

func (w *writer) nullableNumber(name string, v *uint64) {
	if v == nil {
		w.set(name, nil)
		return
	}
	w.number(name, *v)
}

func (w *writer) round(v uint64) {
	if v < 1 {
		w.check(errors.New("round starts at 1"))
	}
	w.number("round", v)
}

func (w *writer) beaconRound(v *uint64) {
	if v != nil && *v < 1 {
		w.check(errors.New("beacon_round starts at 1"))
	}
	w.nullableNumber("beacon_round", v)
}

func (w *writer) hash(name string, h Hash) { w.set(name, h.String()) }

func (w *writer) nullableHash(name string, h *Hash) {
	if h == nil {
		w.set(name, nil)
		return
	}
	w.hash(name, *h)
}

func (w *writer) time(name string, t time.Time) {
	s, err := formatTime(t)
	if err != nil {
		w.check(fmt.Errorf("%s: %w", name, err))
	}
	w.set(name, s)
}

// userIDs encodes a list of user ids as decimal strings, NoReplacement as
// null when nullable, and checks they are distinct.
func (w *writer) userIDs(name string, ids []int64, nullable bool) []any {
	out := make([]any, len(ids))
	seen := make(map[int64]bool, len(ids))
	for i, id := range ids {
		if nullable && id == NoReplacement {
			out[i] = nil
			continue
		}
		if id < 1 {
			w.check(fmt.Errorf("%s[%d] %d is not a user id (1..2^63-1)", name, i, id))
		}
		if seen[id] {
			w.check(fmt.Errorf("%s lists user %d twice", name, id))
		}
		seen[id] = true
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

func formatTime(t time.Time) (string, error) {
	t = t.UTC()
	if t.Nanosecond() != 0 {
		return "", fmt.Errorf("time %s has fractions of a second", t.Format(time.RFC3339Nano))
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("year %d is outside 0000..9999", y)
	}
	return t.Format(TimeLayout), nil
}

// Parse reads one entry. It refuses bytes that are not already RFC 8785
// canonical JSON (so each entry has exactly one encoding and one leaf hash),
// an unknown type, a missing, extra or null-where-not-allowed member, a
// number that is not an integer in 0..2^53-1, an id that is not the decimal
// string of 1..2^63-1, a hash that is not 64 lowercase hex characters, and a
// time that is not RFC 3339 UTC with whole seconds.
func Parse(data []byte) (Entry, error) {
	if len(data) > MaxEntrySize {
		return nil, fmt.Errorf("drawlog: entry of %d bytes exceeds %d", len(data), MaxEntrySize)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("drawlog: entry is not UTF-8")
	}
	canon, err := jcs.Transform(data)
	if err != nil {
		return nil, fmt.Errorf("drawlog: entry is not JSON: %w", err)
	}
	if !bytes.Equal(canon, data) {
		return nil, errors.New("drawlog: entry is not in RFC 8785 canonical form")
	}
	var r reader
	if err := json.Unmarshal(data, &r.obj); err != nil || r.obj == nil {
		return nil, errors.New("drawlog: entry is not a JSON object")
	}
	typ := Type(r.str("type"))
	if r.err != nil {
		return nil, fmt.Errorf("drawlog: %w", r.err)
	}
	h := Header{GiveawayID: r.id("giveaway_id"), Seq: r.number("seq"), Prev: r.nullableNumber("prev")}
	var e Entry
	switch typ {
	case TypeCommit:
		e = Commit{
			Header:      h,
			Commitment:  r.hash("commitment"),
			Version:     r.str("version"),
			ChainHash:   r.nullableHash("chain_hash"),
			BeaconDelay: r.number("beacon_delay"),
			MaxTickets:  r.number("max_tickets"),
			RulesSHA256: r.nullableHash("rules_sha256"),
			CommittedAt: r.time("committed_at"),
		}
	case TypeFreeze:
		e = Freeze{
			Header:        h,
			Commitment:    r.hash("commitment"),
			EntrantsRoot:  r.hash("entrants_root"),
			EntrantsCount: r.number("entrants_count"),
			TotalTickets:  r.number("total_tickets"),
			WinnerCount:   r.number("winner_count"),
			BeaconRound:   r.nullableNumber("beacon_round"),
			FrozenAt:      r.time("frozen_at"),
		}
	case TypeDraw:
		e = Draw{
			Header:      h,
			ServerSeed:  r.hash("server_seed"),
			DrawSeed:    r.hash("draw_seed"),
			BeaconRound: r.nullableNumber("beacon_round"),
			Winners:     r.userIDs("winners", false),
			DrawnAt:     r.time("drawn_at"),
		}
	case TypeRedrawRequest:
		e = RedrawRequest{
			Header:       h,
			Round:        r.number("round"),
			Disqualified: r.disqualified(),
			BeaconRound:  r.nullableNumber("beacon_round"),
			RequestedAt:  r.time("requested_at"),
		}
	case TypeRedraw:
		e = Redraw{
			Header:       h,
			Round:        r.number("round"),
			Replacements: r.userIDs("replacements", true),
			RedrawnAt:    r.time("redrawn_at"),
		}
	case TypeLegacy:
		e = Legacy{Header: h, RecordSHA256: r.hash("record_sha256")}
	default:
		return nil, fmt.Errorf("drawlog: unknown entry type %q", typ)
	}
	r.done()
	if r.err != nil {
		return nil, fmt.Errorf("drawlog: %s entry: %w", typ, r.err)
	}
	// Every member is now read; Marshal applies the remaining rules (ranges,
	// shapes, distinct ids) and must give back the very same bytes.
	again, err := Marshal(e)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, data) {
		return nil, fmt.Errorf("drawlog: %s entry does not re-encode to the same bytes", typ)
	}
	return e, nil
}

// reader takes the members of a JSON object one by one, keeping the first
// error; done reports any member left over.
type reader struct {
	obj map[string]json.RawMessage
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *reader) take(name string) json.RawMessage {
	v, ok := r.obj[name]
	if !ok {
		r.fail("member %q is missing", name)
		return nil
	}
	delete(r.obj, name)
	return v
}

func (r *reader) done() {
	for name := range r.obj {
		r.fail("unknown member %q", name)
	}
}

func isNull(v json.RawMessage) bool { return string(v) == "null" }

func (r *reader) str(name string) string {
	v := r.take(name)
	if v == nil {
		return ""
	}
	return r.strValue(name, v)
}

func (r *reader) strValue(name string, v json.RawMessage) string {
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		r.fail("%s must be a string", name)
	}
	return s
}

func (r *reader) number(name string) uint64 {
	v := r.take(name)
	if v == nil {
		return 0
	}
	return r.numberValue(name, v)
}

func (r *reader) numberValue(name string, v json.RawMessage) uint64 {
	n, ok := parseDecimal(string(v), MaxNumber)
	if !ok {
		r.fail("%s must be an integer in 0..2^53-1, got %s", name, v)
	}
	return n
}

func (r *reader) nullableNumber(name string) *uint64 {
	v := r.take(name)
	if v == nil || isNull(v) {
		return nil
	}
	n := r.numberValue(name, v)
	return &n
}

func (r *reader) id(name string) int64 {
	v := r.take(name)
	if v == nil {
		return 0
	}
	return r.idValue(name, v)
}

func (r *reader) idValue(name string, v json.RawMessage) int64 {
	s := r.strValue(name, v)
	n, ok := parseDecimal(s, 1<<63-1)
	if !ok || n == 0 {
		r.fail("%s must be the decimal string of an integer in 1..2^63-1, got %s", name, v)
	}
	return int64(n)
}

func (r *reader) hash(name string) Hash {
	v := r.take(name)
	if v == nil {
		return Hash{}
	}
	return r.hashValue(name, v)
}

func (r *reader) hashValue(name string, v json.RawMessage) Hash {
	h, err := ParseHash(r.strValue(name, v))
	if err != nil {
		r.fail("%s: %v", name, err)
	}
	return h
}

func (r *reader) nullableHash(name string) *Hash {
	v := r.take(name)
	if v == nil || isNull(v) {
		return nil
	}
	h := r.hashValue(name, v)
	return &h
}

func (r *reader) time(name string) time.Time {
	v := r.take(name)
	if v == nil {
		return time.Time{}
	}
	s := r.strValue(name, v)
	t, err := time.Parse(TimeLayout, s)
	// time.Parse accepts fractions of a second the layout does not name, so
	// the form is checked by formatting back.
	if err != nil || t.Format(TimeLayout) != s {
		r.fail("%s must be an RFC 3339 UTC time with whole seconds (%s), got %s", name, TimeLayout, v)
	}
	return t
}

func (r *reader) array(name string) []json.RawMessage {
	v := r.take(name)
	if v == nil {
		return nil
	}
	var list []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &list) != nil {
		r.fail("%s must be an array", name)
	}
	return list
}

func (r *reader) userIDs(name string, nullable bool) []int64 {
	list := r.array(name)
	ids := make([]int64, len(list))
	for i, v := range list {
		if nullable && isNull(v) {
			ids[i] = NoReplacement
			continue
		}
		ids[i] = r.idValue(fmt.Sprintf("%s[%d]", name, i), v)
	}
	return ids
}

func (r *reader) disqualified() []Disqualification {
	list := r.array("disqualified")
	out := make([]Disqualification, len(list))
	for i, v := range list {
		var item reader
		if len(v) == 0 || v[0] != '{' || json.Unmarshal(v, &item.obj) != nil {
			r.fail("disqualified[%d] must be an object", i)
			continue
		}
		out[i] = Disqualification{UserID: item.id("user_id"), Reason: item.str("reason")}
		item.done()
		if item.err != nil {
			r.fail("disqualified[%d]: %v", i, item.err)
		}
	}
	return out
}

// parseDecimal reads a non-negative decimal integer without sign, leading
// zeros, fraction or exponent, up to max.
func parseDecimal(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return 0, false
	}
	return n, true
}
