package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/telegive/participant-service/internal/participant"
)

// Refer settles a referral in four statements at most, inside the
// caller's transaction (the one that stored the invited participation):
//
//  1. the invited participation takes the referrer, only while it has
//     none, which is what makes the referral count once whatever calls
//     it;
//  2. the referrer's participation in the same giveaway is read and
//     locked (FOR UPDATE on Postgres; SQLite's one connection serializes
//     writers), so that concurrent referrals queue and none is lost;
//  3. the referrer's tickets grow by the bonus the domain allows, with
//     max_tickets again in the statement;
//  4. the invited participation records the tickets it gave.
func (q queries) Refer(ctx context.Context, c participant.ReferralCredit) (participant.Referral, error) {
	out := participant.Referral{ReferrerUserID: c.ReferrerUserID}
	var invited []int64
	err := q.db.NewRaw(`UPDATE participants SET referrer_user_id = ?
		WHERE giveaway_id = ? AND user_id = ? AND referrer_user_id IS NULL RETURNING id`,
		c.ReferrerUserID, c.GiveawayID, c.InvitedUserID).Scan(ctx, &invited)
	if err != nil {
		return participant.Referral{}, wrap("refer: record the referrer", err)
	}
	if len(invited) == 0 {
		return out, nil
	}
	var (
		referrerID int64
		tickets    int64
	)
	err = q.db.QueryRowContext(ctx, "SELECT id, tickets FROM participants WHERE giveaway_id = ? AND user_id = ?"+
		q.lockClause(participant.LockExclusive), c.GiveawayID, c.ReferrerUserID).Scan(&referrerID, &tickets)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return participant.Referral{}, wrap("refer: read the referrer", err)
	}
	out.Counted, out.ReferrerTickets = true, tickets
	bonus := c.BonusTickets(tickets)
	if bonus == 0 {
		return out, nil
	}
	err = q.db.QueryRowContext(ctx, `UPDATE participants SET tickets = tickets + ?
		WHERE id = ? AND tickets + ? <= ? RETURNING tickets`,
		bonus, referrerID, bonus, c.MaxTickets).Scan(&out.ReferrerTickets)
	if err != nil {
		return participant.Referral{}, wrap("refer: add the referrer's tickets", err)
	}
	out.BonusTickets = bonus
	if _, err := q.db.ExecContext(ctx, "UPDATE participants SET referral_tickets = ? WHERE id = ?", bonus, invited[0]); err != nil {
		return participant.Referral{}, wrap("refer: record the bonus", err)
	}
	return out, nil
}
