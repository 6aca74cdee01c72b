package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/telegive/participant-service/internal/participant"
)

var _ participant.ParticipantQueries = queries{}

// participantRow is the participants table. It is kept apart from the
// domain type so that a column can change without the API changing.
type participantRow struct {
	bun.BaseModel `bun:"table:participants"`

	ID                   int64     `bun:"id,pk,autoincrement"`
	GiveawayID           int64     `bun:"giveaway_id"`
	UserID               int64     `bun:"user_id"`
	Username             string    `bun:"username,nullzero"`
	FirstName            string    `bun:"first_name,nullzero"`
	LastName             string    `bun:"last_name,nullzero"`
	ParticipatedAt       time.Time `bun:"participated_at"`
	CaptchaCompleted     bool      `bun:"captcha_completed"`
	SubscriptionVerified bool      `bun:"subscription_verified"`
	IsWinner             bool      `bun:"is_winner"`
	WinnerPosition       int       `bun:"winner_position,nullzero"`
	WinnerSelectedAt     time.Time `bun:"winner_selected_at,nullzero"`
	DisqualifiedAt       time.Time `bun:"disqualified_at,nullzero"`
	MessageDelivered     bool      `bun:"message_delivered"`
	DeliveryTimestamp    time.Time `bun:"delivery_timestamp,nullzero"`
	DeliveryAttempts     int       `bun:"delivery_attempts"`
	Tickets              int64     `bun:"tickets"`
	ReferrerUserID       int64     `bun:"referrer_user_id,nullzero"`
	ReferralTickets      int       `bun:"referral_tickets"`
}

func (r participantRow) domain() participant.Participant {
	return participant.Participant{
		ID:                   r.ID,
		GiveawayID:           r.GiveawayID,
		UserID:               r.UserID,
		Username:             r.Username,
		FirstName:            r.FirstName,
		LastName:             r.LastName,
		ParticipatedAt:       r.ParticipatedAt.UTC(),
		CaptchaCompleted:     r.CaptchaCompleted,
		SubscriptionVerified: r.SubscriptionVerified,
		IsWinner:             r.IsWinner,
		WinnerPosition:       r.WinnerPosition,
		WinnerSelectedAt:     optTime(r.WinnerSelectedAt),
		MessageDelivered:     r.MessageDelivered,
		DeliveryTimestamp:    optTime(r.DeliveryTimestamp),
		DeliveryAttempts:     r.DeliveryAttempts,
		Tickets:              r.Tickets,
		ReferrerUserID:       r.ReferrerUserID,
		ReferralTickets:      r.ReferralTickets,
	}
}

// EnrollSQL is the statement that registers users on Postgres: it calls
// the function enroll_participants (migration 20261214000001), whose one
// parameter is a JSON array of registrations (see batchRow). It is
// exported for the load harness, whose pgbench comparison must run exactly
// what the service runs.
const EnrollSQL = `SELECT i, draw_status, captcha_completed, created_id, existing_id FROM enroll_participants(?::jsonb)`

// Enroll is one statement on Postgres, shared with the registrations
// that wait meanwhile (see enroller), and one transaction on SQLite.
func (s *Store) Enroll(ctx context.Context, p participant.NewParticipant) (participant.Enrollment, error) {
	if s.postgres {
		return s.enroller.enroll(ctx, s.queries, p)
	}
	var e participant.Enrollment
	err := s.InTx(ctx, func(q participant.Queries) error {
		var err error
		e, err = q.Enroll(ctx, p)
		return err
	})
	return e, err
}

func (q queries) Enroll(ctx context.Context, p participant.NewParticipant) (participant.Enrollment, error) {
	if !q.postgres {
		return q.enrollSteps(ctx, p)
	}
	e, err := q.enrollBatch(ctx, []participant.NewParticipant{p})
	if err != nil {
		return participant.Enrollment{}, err
	}
	return e[0], nil
}

// enrollment reads what an enrolling statement found: the draw's status,
// whether the user passed the captcha, the participation it created and
// the one there before.
func enrollment(status sql.NullString, completed sql.NullBool, created, existing sql.NullInt64) participant.Enrollment {
	e := participant.Enrollment{
		DrawFound:        status.Valid,
		Drawn:            status.String == string(participant.DrawDrawn),
		Frozen:           status.String == string(participant.DrawFrozen),
		CaptchaCompleted: completed.Bool,
		ParticipantID:    existing.Int64,
		Created:          created.Valid,
	}
	if created.Valid {
		e.ParticipantID = created.Int64
	}
	return e
}

// enrollSteps is Enroll for SQLite, whose single connection serializes
// transactions: the same steps, one statement at a time, inside the
// caller's transaction.
func (q queries) enrollSteps(ctx context.Context, p participant.NewParticipant) (participant.Enrollment, error) {
	st, err := q.RegistrationState(ctx, p.GiveawayID, p.UserID)
	if err != nil {
		return participant.Enrollment{}, err
	}
	d, err := q.Draw(ctx, p.GiveawayID)
	if err != nil && !errors.Is(err, participant.ErrNotFound) {
		return participant.Enrollment{}, err
	}
	e := participant.Enrollment{
		DrawFound:        err == nil,
		Drawn:            err == nil && d.Status == participant.DrawDrawn,
		Frozen:           err == nil && d.Status == participant.DrawFrozen,
		CaptchaCompleted: st.CaptchaCompleted,
		ParticipantID:    st.ParticipantID,
	}
	if !e.DrawFound || e.Drawn || e.Frozen || !e.CaptchaCompleted || e.ParticipantID != 0 {
		return e, nil
	}
	id, created, err := q.InsertParticipant(ctx, p)
	if err != nil {
		return participant.Enrollment{}, err
	}
	e.ParticipantID, e.Created = id, created
	if created {
		err = q.AddParticipation(ctx, p.UserID, p.At)
	}
	return e, err
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
		Frozen:           status.String == string(participant.DrawFrozen),
	}, nil
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

func (q queries) Participant(ctx context.Context, giveawayID, userID int64) (participant.Participant, error) {
	var row participantRow
	err := q.db.NewSelect().Model(&row).Where("giveaway_id = ? AND user_id = ?", giveawayID, userID).Scan(ctx)
	if err != nil {
		return participant.Participant{}, notFound(err)
	}
	return row.domain(), nil
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
		COALESCE(SUM(CASE WHEN message_delivered THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(tickets), 0)
		FROM participants WHERE giveaway_id = ?`, giveawayID).
		Scan(&s.Total, &s.CaptchaCompleted, &s.SubscriptionVerified, &s.Winners, &s.MessagesDelivered, &s.Tickets)
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
