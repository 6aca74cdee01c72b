package store

import (
	"bytes"
	"context"
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

	GiveawayID          int64     `bun:"giveaway_id,pk"`
	Status              string    `bun:"status"`
	ServerSeed          []byte    `bun:"server_seed"`
	Commitment          []byte    `bun:"commitment"`
	CommittedAt         time.Time `bun:"committed_at"`
	RequireSubscription bool      `bun:"require_subscription"`
	DrawnAt             time.Time `bun:"drawn_at,nullzero"`
	Record              string    `bun:"record,nullzero"`
	TreeCache           []byte    `bun:"tree_cache"`
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
	}
	copy(d.Commitment[:], row.Commitment)
	if row.Record != "" {
		if err := json.Unmarshal([]byte(row.Record), &d.Record); err != nil {
			return participant.Draw{}, fmt.Errorf("store: draw record of giveaway %d: %w", row.GiveawayID, err)
		}
	}
	if len(row.TreeCache) > 0 {
		d.Tree = new(draw.TreeCache)
		if err := d.Tree.UnmarshalBinary(row.TreeCache); err != nil {
			return participant.Draw{}, fmt.Errorf("store: tree cache of giveaway %d: %w", row.GiveawayID, err)
		}
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
	_, err = q.db.ExecContext(ctx, `INSERT INTO draws (giveaway_id, status, server_seed, commitment, committed_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (giveaway_id) DO NOTHING`,
		giveawayID, string(participant.DrawCommitted), fresh.ServerSeed, fresh.Commitment[:], fresh.CommittedAt)
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
	if d.Tree != nil {
		if tree, err = d.Tree.MarshalBinary(); err != nil {
			return wrap("encode tree cache", err)
		}
	}
	res, err := q.db.ExecContext(ctx, `UPDATE draws SET status = ?, require_subscription = ?, drawn_at = ?, record = ?, tree_cache = ?
		WHERE giveaway_id = ?`,
		string(d.Status), d.RequireSubscription, d.Record.DrawnAt, string(rec), tree, d.GiveawayID)
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

// copyIDs reads one bigint column with COPY, which for millions of rows is
// several times faster than scanning them one by one, and holds nothing but
// the ids. Inside a transaction it runs on the transaction's own session.
func (q queries) copyIDs(ctx context.Context, countQuery, query string) ([]int64, error) {
	conn := q.conn
	if conn == nil {
		db, ok := q.db.(*bun.DB)
		if !ok {
			return nil, errors.New("store: COPY needs a connection")
		}
		c, err := db.Conn(ctx)
		if err != nil {
			return nil, wrap("acquire a connection", err)
		}
		defer c.Close()
		conn = &c
	}
	// Counting first (an index-only scan) sizes the slice once: growing it
	// while COPY streams would allocate about five times N x 8 bytes and
	// hold twice that at the peak. The count is only a hint; rows that
	// arrive in between still fit.
	var n int
	if err := conn.QueryRowContext(ctx, countQuery).Scan(&n); err != nil {
		return nil, wrap("count entrants", err)
	}
	p := &idParser{ids: make([]int64, 0, n)}
	if _, err := pgdriver.CopyTo(ctx, *conn, p, "COPY ("+query+") TO STDOUT"); err != nil {
		return nil, wrap("copy entrants", err)
	}
	if err := p.flush(); err != nil {
		return nil, err
	}
	return p.ids, nil
}

// idParser parses COPY's text output, one decimal id per line, as it
// streams in.
type idParser struct {
	ids     []int64
	partial []byte
}

func (p *idParser) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			break
		}
		line := b[:i]
		if len(p.partial) > 0 {
			line = append(p.partial, line...)
			p.partial = p.partial[:0]
		}
		id, err := parseID(line)
		if err != nil {
			return 0, err
		}
		p.ids = append(p.ids, id)
		b = b[i+1:]
	}
	return n, nil
}

func (p *idParser) flush() error {
	if len(p.partial) == 0 {
		return nil
	}
	id, err := parseID(p.partial)
	if err != nil {
		return err
	}
	p.ids = append(p.ids, id)
	p.partial = nil
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
