package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/telegive/participant-service/internal/participant"
)

// rulesRow is a row of giveaway_rules. The draw's commit inserts or
// locks it (a trigger on draws, in the migration), so a row may hold no
// rules yet.
type rulesRow struct {
	Rules     sql.NullString `bun:"rules"`
	UpdatedAt sql.NullTime   `bun:"updated_at"`
	LockedAt  sql.NullTime   `bun:"locked_at"`
}

func (q queries) Rules(ctx context.Context, giveawayID int64) (participant.StoredRules, error) {
	var row rulesRow
	err := q.db.NewRaw(`SELECT rules, updated_at, locked_at FROM giveaway_rules WHERE giveaway_id = ?`, giveawayID).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return participant.StoredRules{}, participant.ErrNotFound
	}
	if err != nil {
		return participant.StoredRules{}, wrap("read giveaway rules", err)
	}
	var st participant.StoredRules
	if row.Rules.Valid {
		st.JSON = []byte(row.Rules.String)
	}
	st.UpdatedAt = timeOf(row.UpdatedAt)
	st.LockedAt = timeOf(row.LockedAt)
	return st, nil
}

// SaveRules upserts the rules only while the row is unlocked. On
// Postgres the insert waits for a draw's commit that is inserting or
// locking the same row, and then finds it locked; a commit that comes
// second waits for this transaction and locks what it saved. SQLite's
// one connection serialises the two.
func (q queries) SaveRules(ctx context.Context, giveawayID int64, rulesJSON []byte, at time.Time) (bool, error) {
	var saved []int64
	err := q.db.NewRaw(`INSERT INTO giveaway_rules (giveaway_id, rules, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (giveaway_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at
		WHERE giveaway_rules.locked_at IS NULL
		RETURNING giveaway_id`, giveawayID, string(rulesJSON), at.UTC()).Scan(ctx, &saved)
	if err != nil {
		return false, wrap("save giveaway rules", err)
	}
	return len(saved) == 1, nil
}

func timeOf(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}
