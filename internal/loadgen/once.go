package loadgen

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/uptrace/bun"

	"github.com/telegive/participant-service/pkg/client"
)

// storedRow is what the giveaway holds for one user: the participant id,
// how many rows (the unique key allows one) and, when read from the
// database, the user's participation count.
type storedRow struct {
	UserID, ParticipantID int64
	Rows                  int
	// Participations is users.total_participations, -1 when not read.
	Participations int64
}

// OnceCheck is the result of checking that every acknowledged registration
// is stored exactly once.
type OnceCheck struct {
	Source string
	// Acknowledged users were answered 201; Stored is the giveaway's rows.
	Acknowledged, Stored int
	// Missing were answered 201 and are not stored.
	Missing []int64
	// WrongID are stored under another participant id than a 201 or 409
	// answered with.
	WrongID []int64
	// DoubleAcked were answered 201 more than once.
	DoubleAcked []int64
	// Duplicated are stored more than once.
	Duplicated []int64
	// Strangers are stored but were never sent.
	Strangers []int64
	// Miscounted have a participation count other than the one expected.
	Miscounted []int64
	// Unacknowledged are stored, were sent and never answered 201 (a
	// request that timed out or was cut after its commit): allowed.
	Unacknowledged int
	// CountAnswered is what the count endpoint said, -1 when not asked.
	CountAnswered int64
	OK            bool
}

// checkOnce compares the answers the harness got with the rows stored.
// wantParticipations is the participation count every stored user must
// have (0: not checked); countAnswered the count endpoint's answer (-1:
// not asked).
func checkOnce(a *ackLog, rows []storedRow, wantParticipations, countAnswered int64) OnceCheck {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := OnceCheck{Acknowledged: len(a.created), Stored: len(rows), CountAnswered: countAnswered,
		DoubleAcked: slices.Clone(a.doubleAcks)}
	stored := make(map[int64]storedRow, len(rows))
	for _, r := range rows {
		if _, ok := a.sentTo[r.UserID]; !ok {
			c.Strangers = append(c.Strangers, r.UserID)
		}
		if r.Rows != 1 {
			c.Duplicated = append(c.Duplicated, r.UserID)
		}
		if wantParticipations > 0 && r.Participations >= 0 && r.Participations != wantParticipations {
			c.Miscounted = append(c.Miscounted, r.UserID)
		}
		if _, ok := a.created[r.UserID]; !ok {
			if _, sent := a.sentTo[r.UserID]; sent {
				c.Unacknowledged++
			}
		}
		stored[r.UserID] = r
	}
	for user, id := range a.created {
		r, ok := stored[user]
		switch {
		case !ok:
			c.Missing = append(c.Missing, user)
		case r.ParticipantID != id:
			c.WrongID = append(c.WrongID, user)
		}
	}
	for user, id := range a.duplicates {
		if r, ok := stored[user]; !ok {
			c.Missing = append(c.Missing, user)
		} else if r.ParticipantID != id {
			c.WrongID = append(c.WrongID, user)
		}
	}
	for _, s := range [][]int64{c.Missing, c.WrongID, c.DoubleAcked, c.Duplicated, c.Strangers, c.Miscounted} {
		slices.Sort(s)
	}
	c.Missing, c.WrongID = slices.Compact(c.Missing), slices.Compact(c.WrongID)
	c.OK = len(c.Missing)+len(c.WrongID)+len(c.DoubleAcked)+len(c.Duplicated)+len(c.Strangers)+len(c.Miscounted) == 0 &&
		(countAnswered < 0 || countAnswered == int64(len(rows)))
	return c
}

// storedFromDB reads the giveaway's rows and their users' participation
// counts from the database.
func storedFromDB(ctx context.Context, db *bun.DB, giveaway int64) ([]storedRow, error) {
	rows, err := db.QueryContext(ctx, `SELECT p.user_id, min(p.id), count(*), coalesce(min(u.total_participations), -1)
		FROM participants p LEFT JOIN users u ON u.user_id = p.user_id
		WHERE p.giveaway_id = ? GROUP BY p.user_id`, giveaway)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedRow
	for rows.Next() {
		var r storedRow
		if err := rows.Scan(&r.UserID, &r.ParticipantID, &r.Rows, &r.Participations); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// storedFromAPI reads the giveaway's rows through the export, and its count.
func storedFromAPI(ctx context.Context, gw *client.Client, giveaway int64) ([]storedRow, int64, error) {
	byUser := map[int64]*storedRow{}
	err := gw.Export(ctx, giveaway, func(p client.Participant) error {
		if r, ok := byUser[p.UserID]; ok {
			r.Rows++
			return nil
		}
		byUser[p.UserID] = &storedRow{UserID: p.UserID, ParticipantID: p.ID, Rows: 1, Participations: -1}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("export: %w", err)
	}
	n, err := gw.Count(ctx, giveaway)
	if err != nil {
		return nil, 0, fmt.Errorf("count: %w", err)
	}
	out := make([]storedRow, 0, len(byUser))
	for _, r := range byUser {
		out = append(out, *r)
	}
	return out, n, nil
}

// Print writes the check.
func (c OnceCheck) Print(w io.Writer) {
	verdict := "ok"
	if !c.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "exactly once (%s): %s: %d acknowledged (201), %d stored, %d stored without a 201 seen",
		c.Source, verdict, c.Acknowledged, c.Stored, c.Unacknowledged)
	if c.CountAnswered >= 0 {
		fmt.Fprintf(w, ", count endpoint %d", c.CountAnswered)
	}
	fmt.Fprintln(w)
	for _, f := range []struct {
		name  string
		users []int64
	}{{"acknowledged, not stored", c.Missing}, {"stored under another participant id", c.WrongID},
		{"answered 201 twice", c.DoubleAcked}, {"stored more than once", c.Duplicated},
		{"stored, never sent", c.Strangers}, {"participation count wrong", c.Miscounted}} {
		if len(f.users) > 0 {
			fmt.Fprintf(w, "  %s: %d, e.g. %v\n", f.name, len(f.users), f.users[:min(5, len(f.users))])
		}
	}
}
