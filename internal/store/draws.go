package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/draw"
)

var _ participant.DrawQueries = queries{}

// drawRow is the draws table.
type drawRow struct {
	bun.BaseModel `bun:"table:draws"`

	GiveawayID          int64         `bun:"giveaway_id,pk"`
	Status              string        `bun:"status"`
	ServerSeed          []byte        `bun:"server_seed"`
	Commitment          []byte        `bun:"commitment"`
	CommittedAt         time.Time     `bun:"committed_at"`
	RequireSubscription bool          `bun:"require_subscription"`
	DrawnAt             time.Time     `bun:"drawn_at,nullzero"`
	Record              string        `bun:"record,nullzero"`
	TreeCache           []byte        `bun:"tree_cache"`
	Version             string        `bun:"version"`
	LogSeq              int64         `bun:"log_seq"`
	LogLast             sql.NullInt64 `bun:"log_last"`
	PendingRedraw       string        `bun:"pending_redraw,nullzero"`
	BeaconAt            time.Time     `bun:"beacon_at,nullzero"`
	FinishLeaseUntil    time.Time     `bun:"finish_lease_until,nullzero"`
}

// pendingRedraw is the stored form of a v2 redraw round waiting for its
// beacon: what its request fixed.
type pendingRedraw struct {
	Round              uint64                  `json:"round"`
	Disqualified       []draw.Disqualification `json:"disqualified"`
	RequestedAt        time.Time               `json:"requested_at"`
	BeaconRound        uint64                  `json:"beacon_round"`
	RequestAttestation *draw.Attestation       `json:"request_attestation"`
}

func (q queries) selectDraw(ctx context.Context, giveawayID int64, lock string) (participant.Draw, error) {
	var row drawRow
	err := q.db.NewRaw("SELECT * FROM draws WHERE giveaway_id = ?"+lock, giveawayID).Scan(ctx, &row)
	if err != nil {
		return participant.Draw{}, notFound(err)
	}
	return drawFromRow(row)
}

func drawFromRow(row drawRow) (participant.Draw, error) {
	d := participant.Draw{
		GiveawayID:          row.GiveawayID,
		Status:              participant.DrawStatus(row.Status),
		ServerSeed:          row.ServerSeed,
		CommittedAt:         row.CommittedAt.UTC(),
		RequireSubscription: row.RequireSubscription,
		Version:             row.Version,
		LogSeq:              uint64(row.LogSeq),
	}
	if d.Version == "" {
		d.Version = draw.Version
	}
	if row.LogLast.Valid {
		last := uint64(row.LogLast.Int64)
		d.LogLast = &last
	}
	if !row.BeaconAt.IsZero() {
		d.BeaconAt = row.BeaconAt.UTC()
	}
	copy(d.Commitment[:], row.Commitment)
	if row.Record != "" {
		if err := json.Unmarshal([]byte(row.Record), &d.Record); err != nil {
			return participant.Draw{}, fmt.Errorf("store: draw record of giveaway %d: %w", row.GiveawayID, err)
		}
	}
	if len(row.TreeCache) > 0 {
		var err error
		if d.V2() {
			d.SumTree = new(draw.SumTreeCache)
			err = d.SumTree.UnmarshalBinary(row.TreeCache)
		} else {
			d.Tree = new(draw.TreeCache)
			err = d.Tree.UnmarshalBinary(row.TreeCache)
		}
		if err != nil {
			return participant.Draw{}, fmt.Errorf("store: tree cache of giveaway %d: %w", row.GiveawayID, err)
		}
	}
	if row.PendingRedraw != "" {
		var p pendingRedraw
		if err := json.Unmarshal([]byte(row.PendingRedraw), &p); err != nil {
			return participant.Draw{}, fmt.Errorf("store: pending redraw of giveaway %d: %w", row.GiveawayID, err)
		}
		d.PendingRedraw = &draw.Redraw{Round: p.Round, Disqualified: p.Disqualified, RequestedAt: p.RequestedAt.UTC(),
			BeaconRound: p.BeaconRound, RequestAttestation: p.RequestAttestation, Replacements: []draw.Replacement{}}
	}
	return d, nil
}

func (q queries) Draw(ctx context.Context, giveawayID int64) (participant.Draw, error) {
	return q.selectDraw(ctx, giveawayID, "")
}

func (q queries) EnsureDraw(ctx context.Context, giveawayID int64, fresh participant.Draw, mode participant.LockMode) (participant.Draw, error) {
	lock := q.lockClause(mode)
	d, err := q.selectDraw(ctx, giveawayID, lock)
	if !errors.Is(err, participant.ErrNotFound) || fresh.ServerSeed == nil {
		return d, err
	}
	version, record := fresh.Version, any(nil)
	if version == "" {
		version = draw.Version
	}
	if fresh.V2() {
		rec, err := json.Marshal(fresh.Record)
		if err != nil {
			return participant.Draw{}, wrap("encode draw record", err)
		}
		record = string(rec)
	}
	_, err = q.db.ExecContext(ctx, `INSERT INTO draws (giveaway_id, status, server_seed, commitment, committed_at, version, record)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (giveaway_id) DO NOTHING`,
		giveawayID, string(participant.DrawCommitted), fresh.ServerSeed, fresh.Commitment[:], fresh.CommittedAt, version, record)
	if err != nil {
		return participant.Draw{}, wrap("create draw commitment", err)
	}
	return q.selectDraw(ctx, giveawayID, lock)
}

func (q queries) SaveDraw(ctx context.Context, d participant.Draw) error {
	rec, err := json.Marshal(d.Record)
	if err != nil {
		return wrap("encode draw record", err)
	}
	var tree []byte
	switch {
	case d.SumTree != nil:
		if tree, err = d.SumTree.MarshalBinary(); err != nil {
			return wrap("encode tree cache", err)
		}
	case d.Tree != nil:
		if tree, err = d.Tree.MarshalBinary(); err != nil {
			return wrap("encode tree cache", err)
		}
	}
	var pending any
	if p := d.PendingRedraw; p != nil {
		b, err := json.Marshal(pendingRedraw{Round: p.Round, Disqualified: p.Disqualified, RequestedAt: p.RequestedAt.UTC(),
			BeaconRound: p.BeaconRound, RequestAttestation: p.RequestAttestation})
		if err != nil {
			return wrap("encode pending redraw", err)
		}
		pending = string(b)
	}
	res, err := q.db.ExecContext(ctx, `UPDATE draws SET status = ?, require_subscription = ?, drawn_at = ?, record = ?, tree_cache = ?,
		pending_redraw = ?, beacon_at = ?, finish_lease_until = NULL
		WHERE giveaway_id = ?`,
		string(d.Status), d.RequireSubscription, nullTime(d.Record.DrawnAt), string(rec), tree, pending, nullTime(d.BeaconAt), d.GiveawayID)
	if err != nil {
		return wrap("save draw", err)
	}
	return expectRows(res, 1, "save draw")
}

func (q queries) eligibleQuery(giveawayID int64, requireSubscription bool) string {
	return "SELECT user_id " + eligibleFrom(giveawayID, requireSubscription) + " ORDER BY user_id"
}

// eligibleFrom is the FROM and WHERE clauses selecting a giveaway's
// eligible entrants.
func eligibleFrom(giveawayID int64, requireSubscription bool) string {
	return fmt.Sprintf("FROM participants WHERE giveaway_id = %d AND %s", giveawayID, eligible(requireSubscription))
}

// eligible is the condition an entrant meets.
func eligible(requireSubscription bool) string {
	if requireSubscription {
		return "captcha_completed AND subscription_verified"
	}
	return "captcha_completed"
}

func (q queries) EntrantsFrom(ctx context.Context, giveawayID int64, requireSubscription bool, from int64, limit int) ([]int64, error) {
	ids := []int64{}
	err := q.db.NewRaw("SELECT user_id FROM participants WHERE giveaway_id = ? AND "+eligible(requireSubscription)+
		" AND user_id >= ? ORDER BY user_id LIMIT ?", giveawayID, from, limit).Scan(ctx, &ids)
	if err != nil {
		return nil, wrap("read entrants", err)
	}
	return ids, nil
}

func (q queries) EligibleEntrants(ctx context.Context, giveawayID int64, requireSubscription bool) ([]int64, error) {
	query := q.eligibleQuery(giveawayID, requireSubscription)
	if q.postgres {
		return q.copyIDs(ctx, "SELECT count(*) "+eligibleFrom(giveawayID, requireSubscription), query)
	}
	rows, err := q.db.QueryContext(ctx, query)
	if err != nil {
		return nil, wrap("read entrants", err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("read entrants", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("read entrants", err)
	}
	return ids, nil
}

func (q queries) EntrantTicketsFrom(ctx context.Context, giveawayID int64, requireSubscription bool, from int64, limit int) ([]int64, []uint64, error) {
	rows, err := q.db.QueryContext(ctx, "SELECT user_id, tickets FROM participants WHERE giveaway_id = ? AND "+eligible(requireSubscription)+
		" AND user_id >= ? ORDER BY user_id LIMIT ?", giveawayID, from, limit)
	if err != nil {
		return nil, nil, wrap("read entrants", err)
	}
	defer rows.Close()
	p := &ticketParser{ids: []int64{}}
	for rows.Next() {
		var id, t int64
		if err := rows.Scan(&id, &t); err != nil {
			return nil, nil, wrap("read entrants", err)
		}
		p.add(id, uint64(t))
	}
	if err := rows.Err(); err != nil {
		return nil, nil, wrap("read entrants", err)
	}
	return p.ids, p.tickets, nil
}

func (q queries) EntrantTickets(ctx context.Context, giveawayID int64, requireSubscription bool) ([]int64, []uint64, error) {
	if !q.postgres {
		return q.EntrantTicketsFrom(ctx, giveawayID, requireSubscription, 1, -1)
	}
	// tickets is sent only when it is not 1, the usual case, which keeps
	// the COPY as short as the ids alone.
	query := "SELECT user_id, NULLIF(tickets, 1) " + eligibleFrom(giveawayID, requireSubscription) + " ORDER BY user_id"
	var p *ticketParser
	err := q.copyOut(ctx, "SELECT count(*) "+eligibleFrom(giveawayID, requireSubscription), query, func(n int) lineParser {
		p = &ticketParser{ids: make([]int64, 0, n)}
		return p
	})
	if err != nil {
		return nil, nil, err
	}
	return p.ids, p.tickets, nil
}

func (q queries) ScanEntrantTickets(ctx context.Context, giveawayID int64, requireSubscription bool, add func(userID int64, tickets uint64)) error {
	if !q.postgres {
		rows, err := q.db.QueryContext(ctx, "SELECT user_id, tickets "+eligibleFrom(giveawayID, requireSubscription)+" ORDER BY user_id")
		if err != nil {
			return wrap("read entrants", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, t int64
			if err := rows.Scan(&id, &t); err != nil {
				return wrap("read entrants", err)
			}
			add(id, uint64(t))
		}
		if err := rows.Err(); err != nil {
			return wrap("read entrants", err)
		}
		return nil
	}
	// As in EntrantTickets, but with nothing to size: the entrants go to
	// add as COPY streams them in.
	query := "SELECT user_id, NULLIF(tickets, 1) " + eligibleFrom(giveawayID, requireSubscription) + " ORDER BY user_id"
	return q.copyOut(ctx, "", query, func(int) lineParser { return ticketSink(add) })
}

// ticketSink passes each line of "user_id\ttickets", tickets \N for 1, on.
type ticketSink func(userID int64, tickets uint64)

func (f ticketSink) line(b []byte) error {
	id, t, err := parseTicketLine(b)
	if err != nil {
		return err
	}
	f(id, t)
	return nil
}

// ticketParser holds entrants and their tickets, allocating the tickets
// only once an entrant holds more than one.
type ticketParser struct {
	ids     []int64
	tickets []uint64
}

func (p *ticketParser) add(id int64, t uint64) {
	if t != 1 && p.tickets == nil {
		p.tickets = make([]uint64, len(p.ids), cap(p.ids))
		for i := range p.tickets {
			p.tickets[i] = 1
		}
	}
	p.ids = append(p.ids, id)
	if p.tickets != nil {
		p.tickets = append(p.tickets, t)
	}
}

// line parses "user_id\ttickets" with tickets \N for 1.
func (p *ticketParser) line(b []byte) error {
	id, t, err := parseTicketLine(b)
	if err != nil {
		return err
	}
	p.add(id, t)
	return nil
}

// parseTicketLine parses "user_id\ttickets" with tickets \N for 1.
func parseTicketLine(b []byte) (int64, uint64, error) {
	idText, tText, ok := bytes.Cut(b, []byte{'\t'})
	if !ok {
		return 0, 0, fmt.Errorf("store: bad entrant line %q in COPY output", b)
	}
	id, err := parseID(idText)
	if err != nil {
		return 0, 0, err
	}
	t := int64(1)
	if !bytes.Equal(tText, []byte(`\N`)) {
		if t, err = parseID(tText); err != nil {
			return 0, 0, err
		}
		if t < 1 {
			return 0, 0, fmt.Errorf("store: entrant %d holds %d tickets", id, t)
		}
	}
	return id, uint64(t), nil
}

// ClaimPendingDraws leases due draws in one statement; on Postgres its
// SKIP LOCKED lets replicas claim at the same moment without waiting on,
// or taking, each other's rows.
func (q queries) ClaimPendingDraws(ctx context.Context, now, leaseUntil time.Time, limit int) ([]int64, error) {
	skip := ""
	if q.postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	ids := []int64{}
	err := q.db.NewRaw(`UPDATE draws SET finish_lease_until = ? WHERE giveaway_id IN (
		SELECT giveaway_id FROM draws WHERE beacon_at <= ? AND (finish_lease_until IS NULL OR finish_lease_until < ?)
		ORDER BY beacon_at LIMIT ?`+skip+`) RETURNING giveaway_id`, leaseUntil, now, now, limit).Scan(ctx, &ids)
	if err != nil {
		return nil, wrap("claim pending draws", err)
	}
	return ids, nil
}

func (q queries) UnloggedDraws(ctx context.Context, limit int) ([]participant.Draw, error) {
	skip := ""
	if q.postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	var rows []drawRow
	if err := q.db.NewRaw("SELECT * FROM draws WHERE log_seq = 0 ORDER BY giveaway_id LIMIT ?"+skip, limit).Scan(ctx, &rows); err != nil {
		return nil, wrap("read unlogged draws", err)
	}
	out := make([]participant.Draw, len(rows))
	for i, r := range rows {
		d, err := drawFromRow(r)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// copyIDs reads one bigint column with COPY, which for millions of rows is
// several times faster than scanning them one by one, and holds nothing but
// the ids. Inside a transaction it runs on the transaction's own session.
func (q queries) copyIDs(ctx context.Context, countQuery, query string) ([]int64, error) {
	var p *idParser
	err := q.copyOut(ctx, countQuery, query, func(n int) lineParser {
		p = &idParser{ids: make([]int64, 0, n)}
		return p
	})
	if err != nil {
		return nil, err
	}
	return p.ids, nil
}

// A lineParser takes COPY's text output one line at a time.
type lineParser interface{ line([]byte) error }

// copyOut streams query's COPY output into the parser that newParser
// returns for the row count countQuery gives (0 when countQuery is
// empty). Inside a transaction it runs on the transaction's own session.
func (q queries) copyOut(ctx context.Context, countQuery, query string, newParser func(n int) lineParser) error {
	conn := q.conn
	if conn == nil {
		db, ok := q.db.(*bun.DB)
		if !ok {
			return errors.New("store: COPY needs a connection")
		}
		c, err := db.Conn(ctx)
		if err != nil {
			return wrap("acquire a connection", err)
		}
		defer c.Close()
		conn = &c
	}
	// Counting first (an index-only scan) sizes the slice once: growing it
	// while COPY streams would allocate about five times N x 8 bytes and
	// hold twice that at the peak. The count is only a hint; rows that
	// arrive in between still fit. Without a countQuery there is nothing
	// to size.
	var n int
	if countQuery != "" {
		if err := conn.QueryRowContext(ctx, countQuery).Scan(&n); err != nil {
			return wrap("count entrants", err)
		}
	}
	w := &lineWriter{p: newParser(n)}
	if _, err := pgdriver.CopyTo(ctx, *conn, w, "COPY ("+query+") TO STDOUT"); err != nil {
		return wrap("copy entrants", err)
	}
	return w.flush()
}

// lineWriter splits COPY's text output into lines as it streams in.
type lineWriter struct {
	p       lineParser
	partial []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.partial = append(w.partial, b...)
			break
		}
		line := b[:i]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = w.partial[:0]
		}
		if err := w.p.line(line); err != nil {
			return 0, err
		}
		b = b[i+1:]
	}
	return n, nil
}

func (w *lineWriter) flush() error {
	if len(w.partial) == 0 {
		return nil
	}
	err := w.p.line(w.partial)
	w.partial = nil
	return err
}

// idParser holds the ids of COPY's output, one decimal id per line.
type idParser struct {
	ids []int64
}

func (p *idParser) line(b []byte) error {
	id, err := parseID(b)
	if err != nil {
		return err
	}
	p.ids = append(p.ids, id)
	return nil
}

func parseID(b []byte) (int64, error) {
	var n int64
	if len(b) == 0 || len(b) > 19 {
		return 0, fmt.Errorf("store: bad id %q in COPY output", b)
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("store: bad id %q in COPY output", b)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

func (q queries) MarkWinners(ctx context.Context, giveawayID int64, picks []draw.Pick, at time.Time) error {
	if len(picks) == 0 {
		return nil
	}
	// One statement for every winner: CASE maps each user to a position,
	// which both dialects understand.
	var b strings.Builder
	b.WriteString("CASE user_id")
	users := make([]int64, len(picks))
	for i, p := range picks {
		users[i] = p.UserID
		b.WriteString(" WHEN ")
		b.WriteString(strconv.FormatInt(p.UserID, 10))
		b.WriteString(" THEN ")
		b.WriteString(strconv.Itoa(p.Position))
	}
	b.WriteString(" END")
	res, err := q.db.ExecContext(ctx, `UPDATE participants SET is_winner = TRUE, winner_selected_at = ?, disqualified_at = NULL,
		winner_position = `+b.String()+` WHERE giveaway_id = ? AND user_id IN (?)`,
		at, giveawayID, bun.List(users))
	if err != nil {
		return wrap("mark winners", err)
	}
	return expectRows(res, int64(len(picks)), "mark winners")
}

func (q queries) Disqualify(ctx context.Context, giveawayID int64, userIDs []int64, at time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE participants SET is_winner = FALSE, winner_position = NULL,
		winner_selected_at = NULL, disqualified_at = ? WHERE giveaway_id = ? AND user_id IN (?) AND is_winner`,
		at, giveawayID, bun.List(userIDs))
	if err != nil {
		return wrap("disqualify winners", err)
	}
	return expectRows(res, int64(len(userIDs)), "disqualify winners")
}

func (q queries) Winners(ctx context.Context, giveawayID int64) ([]participant.Winner, error) {
	var rows []participantRow
	err := q.db.NewSelect().Model(&rows).Where("giveaway_id = ? AND is_winner", giveawayID).
		Order("winner_position").Scan(ctx)
	if err != nil {
		return nil, wrap("read winners", err)
	}
	out := make([]participant.Winner, len(rows))
	for i, r := range rows {
		out[i] = participant.Winner{Participant: r.domain(), Position: r.WinnerPosition}
	}
	return out, nil
}

func (q queries) WinnerCount(ctx context.Context, giveawayID int64) (int64, error) {
	var n int64
	err := q.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM participants WHERE giveaway_id = ? AND is_winner", giveawayID).Scan(&n)
	if err != nil {
		return 0, wrap("count winners", err)
	}
	return n, nil
}
