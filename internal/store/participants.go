package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/telegive/participant-service/internal/participant"
)

// EnrollSQL is the statement that registers a user on Postgres, with bun
// placeholders in this order: giveaway id, user id, username, first name,
// last name, time, subscription verified, time, user id, giveaway id, user
// id. It is exported for the load harness, whose pgbench comparison must run
// exactly what the service runs.
//
// One statement does what would otherwise take a transaction of five round
// trips: it holds the giveaway's draw row shared (so a concurrent draw waits
// for it, and it waits for a draw), inserts the participant only when the
// draw is open and the user has passed the captcha, counts the
// participation, and reports what it found. Data-modifying CTEs run to
// completion whether or not the final SELECT reads them; the final SELECT
// sees the tables as they were when the statement began.
const EnrollSQL = `WITH d AS (
	SELECT status FROM draws WHERE giveaway_id = ? FOR KEY SHARE
), u AS (
	SELECT captcha_completed FROM users WHERE user_id = ?
), ins AS (
	INSERT INTO participants (giveaway_id, user_id, username, first_name, last_name, participated_at, captcha_completed, subscription_verified)
	SELECT giveaway_id, user_id, ?, ?, ?, ?, TRUE, ?
	FROM (SELECT ?::bigint AS giveaway_id, ?::bigint AS user_id) AS p
	WHERE EXISTS (SELECT 1 FROM d WHERE status = 'committed') AND EXISTS (SELECT 1 FROM u WHERE captcha_completed)
	ON CONFLICT (giveaway_id, user_id) DO NOTHING
	RETURNING id, user_id, participated_at
), counted AS (
	UPDATE users SET total_participations = users.total_participations + 1,
		first_participation = COALESCE(users.first_participation, ins.participated_at)
	FROM ins WHERE users.user_id = ins.user_id
)
SELECT (SELECT status FROM d), (SELECT captcha_completed FROM u), (SELECT id FROM ins),
	(SELECT id FROM participants WHERE giveaway_id = ? AND user_id = ?)`

// Enroll is one statement on Postgres and one transaction on SQLite.
func (s *Store) Enroll(ctx context.Context, p participant.NewParticipant) (participant.Enrollment, error) {
	if s.postgres {
		return s.queries.Enroll(ctx, p)
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
	var (
		status    sql.NullString
		completed sql.NullBool
		created   sql.NullInt64
		existing  sql.NullInt64
	)
	err := q.db.QueryRowContext(ctx, EnrollSQL,
		p.GiveawayID, p.UserID, nullable(p.Username), nullable(p.FirstName), nullable(p.LastName), p.At, p.SubscriptionVerified,
		p.GiveawayID, p.UserID, p.GiveawayID, p.UserID).Scan(&status, &completed, &created, &existing)
	if err != nil {
		return participant.Enrollment{}, wrap("enroll", err)
	}
	e := participant.Enrollment{
		DrawFound:        status.Valid,
		Drawn:            status.String == string(participant.DrawDrawn),
		CaptchaCompleted: completed.Bool,
		ParticipantID:    existing.Int64,
		Created:          created.Valid,
	}
	if created.Valid {
		e.ParticipantID = created.Int64
	}
	if e.ParticipantID == 0 && e.DrawFound && !e.Drawn && e.CaptchaCompleted {
		// A concurrent registration of the same user committed while this
		// statement waited on the unique key: its row is newer than this
		// statement's snapshot, so read it now.
		if err := q.db.QueryRowContext(ctx, "SELECT id FROM participants WHERE giveaway_id = ? AND user_id = ?",
			p.GiveawayID, p.UserID).Scan(&e.ParticipantID); err != nil {
			return participant.Enrollment{}, wrap("enroll: read the concurrent participant", err)
		}
	}
	return e, nil
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
		CaptchaCompleted: st.CaptchaCompleted,
		ParticipantID:    st.ParticipantID,
	}
	if !e.DrawFound || e.Drawn || !e.CaptchaCompleted || e.ParticipantID != 0 {
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
