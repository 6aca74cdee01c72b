package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/draw"
)

// queries implements participant.Queries on a bun.IDB, so the same code
// runs inside a transaction or directly on the pool.
type queries struct {
	db bun.IDB
	// conn is the transaction's connection, used for COPY on Postgres.
	conn     *bun.Conn
	postgres bool
}

// lockClause is the row lock for mode. SQLite has none: its single
// connection already serializes transactions.
func (q queries) lockClause(mode participant.LockMode) string {
	if !q.postgres {
		return ""
	}
	switch mode {
	case participant.LockShared:
		// KEY SHARE is the weakest lock that still conflicts with the
		// draw's FOR UPDATE, so concurrent registrations do not block each
		// other.
		return " FOR KEY SHARE"
	case participant.LockExclusive:
		return " FOR UPDATE"
	}
	return ""
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return participant.ErrNotFound
	}
	return wrap("query", err)
}

func (q queries) RegistrationState(ctx context.Context, giveawayID, userID int64) (participant.RegistrationState, error) {
	var (
		pid       sql.NullInt64
		completed sql.NullBool
		status    sql.NullString
	)
	err := q.db.QueryRowContext(ctx, `SELECT
		(SELECT id FROM participants WHERE giveaway_id = ? AND user_id = ?),
		(SELECT captcha_completed FROM users WHERE user_id = ?),
		(SELECT status FROM draws WHERE giveaway_id = ?)`,
		giveawayID, userID, userID, giveawayID).Scan(&pid, &completed, &status)
	if err != nil {
		return participant.RegistrationState{}, wrap("registration state", err)
	}
	return participant.RegistrationState{
		ParticipantID:    pid.Int64,
		CaptchaCompleted: completed.Bool,
		Drawn:            status.String == string(participant.DrawDrawn),
	}, nil
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

func expectRows(res sql.Result, want int64, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n != want {
		return fmt.Errorf("store: %s: %d rows changed, want %d", what, n, want)
	}
	return nil
}

func (q queries) InsertParticipant(ctx context.Context, p participant.NewParticipant) (int64, bool, error) {
	row := participantRow{
		GiveawayID:           p.GiveawayID,
		UserID:               p.UserID,
		Username:             p.Username,
		FirstName:            p.FirstName,
		LastName:             p.LastName,
		ParticipatedAt:       p.At,
		CaptchaCompleted:     true,
		SubscriptionVerified: p.SubscriptionVerified,
	}
	var ids []int64
	err := q.db.NewRaw(`INSERT INTO participants
		(giveaway_id, user_id, username, first_name, last_name, participated_at, captcha_completed, subscription_verified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (giveaway_id, user_id) DO NOTHING RETURNING id`,
		row.GiveawayID, row.UserID, nullable(row.Username), nullable(row.FirstName), nullable(row.LastName),
		row.ParticipatedAt, row.CaptchaCompleted, row.SubscriptionVerified).Scan(ctx, &ids)
	if err != nil {
		return 0, false, wrap("insert participant", err)
	}
	if len(ids) == 1 {
		return ids[0], true, nil
	}
	// Another registration of the same user won; report its id.
	var id int64
	if err := q.db.QueryRowContext(ctx, "SELECT id FROM participants WHERE giveaway_id = ? AND user_id = ?",
		p.GiveawayID, p.UserID).Scan(&id); err != nil {
		return 0, false, wrap("read existing participant", err)
	}
	return id, false, nil
}

// nullable stores an empty optional text as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (q queries) AddParticipation(ctx context.Context, userID int64, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO users (user_id, total_participations, first_participation) VALUES (?, 1, ?)
		ON CONFLICT (user_id) DO UPDATE SET
			total_participations = users.total_participations + 1,
			first_participation = COALESCE(users.first_participation, excluded.first_participation)`,
		userID, at)
	if err != nil {
		return wrap("count participation", err)
	}
	return nil
}

func (q queries) Participant(ctx context.Context, giveawayID, userID int64) (participant.Participant, error) {
	var row participantRow
	err := q.db.NewSelect().Model(&row).Where("giveaway_id = ? AND user_id = ?", giveawayID, userID).Scan(ctx)
	if err != nil {
		return participant.Participant{}, notFound(err)
	}
	return row.domain(), nil
}

func (q queries) User(ctx context.Context, userID int64) (participant.User, error) {
	var row userRow
	if err := q.db.NewSelect().Model(&row).Where("user_id = ?", userID).Scan(ctx); err != nil {
		return participant.User{}, notFound(err)
	}
	return row.domain(), nil
}

func (q queries) CompleteCaptcha(ctx context.Context, userID int64, at time.Time) error {
	// The WHERE keeps the first completion time when two answers race.
	_, err := q.db.ExecContext(ctx, `INSERT INTO users (user_id, captcha_completed, captcha_completed_at) VALUES (?, TRUE, ?)
		ON CONFLICT (user_id) DO UPDATE SET captcha_completed = TRUE, captcha_completed_at = excluded.captcha_completed_at
		WHERE NOT users.captcha_completed`,
		userID, at)
	if err != nil {
		return wrap("complete captcha", err)
	}
	return nil
}

func (q queries) Challenge(ctx context.Context, userID int64) (participant.Challenge, error) {
	var row challengeRow
	if err := q.db.NewRaw("SELECT * FROM captcha_challenges WHERE user_id = ?", userID).Scan(ctx, &row); err != nil {
		return participant.Challenge{}, notFound(err)
	}
	return row.domain(), nil
}

// solveSQL marks a challenge solved and completes the user's captcha in one
// round trip on Postgres; the WHERE keeps the first completion time when
// two answers race.
const solveSQL = `WITH c AS (
	UPDATE captcha_challenges SET solved_at = ?, attempts_used = ? WHERE user_id = ? RETURNING user_id
)
INSERT INTO users (user_id, captcha_completed, captcha_completed_at) SELECT user_id, TRUE, ? FROM c
ON CONFLICT (user_id) DO UPDATE SET captcha_completed = TRUE, captcha_completed_at = excluded.captcha_completed_at
WHERE NOT users.captcha_completed`

func (q queries) SolveChallenge(ctx context.Context, c participant.Challenge, at time.Time) error {
	if !q.postgres {
		if err := q.UpdateChallenge(ctx, c); err != nil {
			return err
		}
		return q.CompleteCaptcha(ctx, c.UserID, at)
	}
	if _, err := q.db.ExecContext(ctx, solveSQL, at, c.AttemptsUsed, c.UserID, at); err != nil {
		return wrap("solve captcha", err)
	}
	return nil
}

func (q queries) ChallengeForUpdate(ctx context.Context, userID int64) (participant.Challenge, error) {
	var row challengeRow
	err := q.db.NewRaw("SELECT * FROM captcha_challenges WHERE user_id = ?"+q.lockClause(participant.LockExclusive), userID).
		Scan(ctx, &row)
	if err != nil {
		return participant.Challenge{}, notFound(err)
	}
	return row.domain(), nil
}

func (q queries) InsertChallenge(ctx context.Context, c participant.Challenge) (bool, error) {
	row := challengeFrom(c)
	res, err := q.db.NewInsert().Model(&row).On("CONFLICT (user_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, wrap("insert captcha challenge", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap("insert captcha challenge", err)
	}
	return n == 1, nil
}

func (q queries) UpdateChallenge(ctx context.Context, c participant.Challenge) error {
	row := challengeFrom(c)
	res, err := q.db.NewUpdate().Model(&row).WherePK().Exec(ctx)
	if err != nil {
		return wrap("update captcha challenge", err)
	}
	return expectRows(res, 1, "update captcha challenge")
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

func (q queries) AddWins(ctx context.Context, userIDs []int64, delta int) error {
	if len(userIDs) == 0 {
		return nil
	}
	ids := slices.Clone(userIDs)
	slices.Sort(ids)
	if q.postgres {
		// Lock the rows in id order first: two draws sharing winners would
		// otherwise lock them in different orders and deadlock.
		if _, err := q.db.ExecContext(ctx, "SELECT 1 FROM users WHERE user_id IN (?) ORDER BY user_id FOR UPDATE", bun.List(ids)); err != nil {
			return wrap("lock users", err)
		}
	}
	_, err := q.db.ExecContext(ctx, "UPDATE users SET total_wins = total_wins + ? WHERE user_id IN (?)", delta, bun.List(ids))
	if err != nil {
		return wrap("count wins", err)
	}
	return nil
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

func (q queries) ListParticipants(ctx context.Context, giveawayID int64, offset, limit int) ([]participant.Participant, error) {
	var rows []participantRow
	err := q.db.NewSelect().Model(&rows).Where("giveaway_id = ?", giveawayID).
		Order("id").Offset(int64(offset)).Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, wrap("list participants", err)
	}
	return domainAll(rows), nil
}

func (q queries) ParticipantsAfter(ctx context.Context, giveawayID, afterID int64, limit int) ([]participant.Participant, error) {
	var rows []participantRow
	err := q.db.NewSelect().Model(&rows).Where("giveaway_id = ? AND id > ?", giveawayID, afterID).
		Order("id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, wrap("page participants", err)
	}
	return domainAll(rows), nil
}

func domainAll(rows []participantRow) []participant.Participant {
	out := make([]participant.Participant, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

func (q queries) Stats(ctx context.Context, giveawayID int64) (participant.Stats, error) {
	var s participant.Stats
	err := q.db.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN captcha_completed THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN subscription_verified THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN is_winner THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN message_delivered THEN 1 ELSE 0 END), 0)
		FROM participants WHERE giveaway_id = ?`, giveawayID).
		Scan(&s.Total, &s.CaptchaCompleted, &s.SubscriptionVerified, &s.Winners, &s.MessagesDelivered)
	if err != nil {
		return participant.Stats{}, wrap("participant stats", err)
	}
	return s, nil
}

func (q queries) Count(ctx context.Context, giveawayID int64) (int64, error) {
	var n int64
	err := q.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM participants WHERE giveaway_id = ?", giveawayID).Scan(&n)
	if err != nil {
		return 0, wrap("count participants", err)
	}
	return n, nil
}

func (q queries) History(ctx context.Context, userID int64, limit int) ([]participant.HistoryEntry, error) {
	var rows []participantRow
	err := q.db.NewSelect().Model(&rows).Column("giveaway_id", "participated_at", "is_winner", "winner_selected_at").
		Where("user_id = ?", userID).OrderExpr("participated_at DESC, id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, wrap("history", err)
	}
	out := make([]participant.HistoryEntry, len(rows))
	for i, r := range rows {
		out[i] = participant.HistoryEntry{
			GiveawayID:       r.GiveawayID,
			ParticipatedAt:   r.ParticipatedAt.UTC(),
			IsWinner:         r.IsWinner,
			WinnerSelectedAt: optTime(r.WinnerSelectedAt),
		}
	}
	return out, nil
}

func (q queries) UpdateDelivery(ctx context.Context, ids []int64, delivered bool, at time.Time) ([]int64, error) {
	var updated []int64
	err := q.db.NewRaw(`UPDATE participants SET
			delivery_attempts = delivery_attempts + 1,
			message_delivered = message_delivered OR ?,
			delivery_timestamp = CASE WHEN ? THEN ? ELSE delivery_timestamp END
		WHERE id IN (?) RETURNING id`,
		delivered, delivered, at, bun.List(ids)).Scan(ctx, &updated)
	if err != nil {
		return nil, wrap("update delivery", err)
	}
	return updated, nil
}

func (q queries) AdminStats(ctx context.Context, now, staleBefore time.Time) (participant.AdminStats, error) {
	var s participant.AdminStats
	err := q.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM participants),
		(SELECT COUNT(*) FROM users),
		(SELECT COUNT(*) FROM users WHERE captcha_completed),
		(SELECT COUNT(*) FROM draws),
		(SELECT COUNT(*) FROM draws WHERE status = 'drawn'),
		(SELECT COUNT(*) FROM captcha_challenges WHERE solved_at IS NULL AND expires_at >= ?),
		(SELECT COUNT(*) FROM captcha_challenges WHERE expires_at < ? AND window_started_at < ?)`,
		now, staleBefore, staleBefore).
		Scan(&s.Participants, &s.Users, &s.CaptchaCompleted, &s.Giveaways, &s.Drawn, &s.PendingChallenges, &s.StaleChallenges)
	if err != nil {
		return participant.AdminStats{}, wrap("admin stats", err)
	}
	return s, nil
}

func (q queries) DeleteStaleChallenges(ctx context.Context, before time.Time, limit int) (int, error) {
	// SKIP LOCKED lets replicas clean at the same time without waiting on
	// each other or on a user answering.
	skip := ""
	if q.postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	res, err := q.db.ExecContext(ctx, `DELETE FROM captcha_challenges WHERE user_id IN (
		SELECT user_id FROM captcha_challenges WHERE expires_at < ? AND window_started_at < ? LIMIT ?`+skip+`)`,
		before, before, limit)
	if err != nil {
		return 0, wrap("delete stale challenges", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
