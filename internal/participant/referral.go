package participant

import "context"

// Referrals. A registration may name the user who invited it
// (RegisterRequest.ReferrerUserID). The rules of a referral:
//
//   - It counts only when the invited user's own registration succeeds,
//     in the same transaction that stores the participation: a refused,
//     duplicate or captcha-pending registration counts nothing (the
//     captcha keeps the referrer until validate-captcha completes the
//     registration).
//   - It counts once per invited user per giveaway: the participation is
//     stored once, and its referrer is recorded once; a repeated or
//     retried registration is a duplicate and changes nothing.
//   - A user never refers themselves (refused as invalid, and forbidden by
//     the schema).
//   - The referrer must already be an entrant of the same giveaway when the
//     invited user's registration commits; otherwise the referral is
//     recorded but earns nothing, now or later. So in a cycle (A invites B,
//     B invites A) only the later of the two entries can count, and each
//     invited user counts at most once.
//   - It adds the rules' referral_bonus to the referrer's tickets, never
//     past max_tickets: a referrer at the cap earns nothing more.
//   - Registrations close at the draw's freeze, and with them the bonuses:
//     the tickets a freeze reads are final.
//
// Concurrent registrations of one referrer's friends queue on the
// referrer's participation row, so n of them give exactly
// min(1 + n*bonus, max_tickets) tickets.

// Referral is what a participation's referral did for the referrer.
type Referral struct {
	ReferrerUserID int64
	// Counted is true when the referrer was an entrant of the giveaway,
	// so that the referral is credited to them; false when they were not
	// (or the participation's referral was already settled).
	Counted bool
	// BonusTickets is how many tickets it added to the referrer's: the
	// rules' referral_bonus, fewer at max_tickets, 0 without a bonus.
	BonusTickets int
	// ReferrerTickets is the referrer's tickets afterwards; 0 when not
	// Counted.
	ReferrerTickets int64
}

// ReferralCredit is the referral to settle for a participation just
// stored.
type ReferralCredit struct {
	GiveawayID     int64
	InvitedUserID  int64
	ReferrerUserID int64
	// Bonus is the rules' referral_bonus, MaxTickets their max_tickets.
	Bonus      int
	MaxTickets int
}

// BonusTickets is what the referral adds to a referrer holding tickets:
// the bonus, fewer at MaxTickets, never negative. The store applies it to
// the referrer's participation while holding it locked.
func (c ReferralCredit) BonusTickets(tickets int64) int {
	room := int64(c.MaxTickets) - tickets
	if room <= 0 || c.Bonus <= 0 {
		return 0
	}
	return int(min(room, int64(c.Bonus)))
}

// storeEnrollment stores np as the store's Enroll does. A participation
// with a referrer takes one transaction instead of the batched statement:
// the participation, its referral and the referrer's bonus commit
// together, under the rules the draw's commit fixed (read in it, since
// the participation is only stored while the draw row exists).
func (s *Service) storeEnrollment(ctx context.Context, np NewParticipant, referrerUserID int64) (Enrollment, error) {
	if referrerUserID == 0 {
		return s.store.Enroll(ctx, np)
	}
	var e Enrollment
	err := s.store.InTx(ctx, func(q Queries) error {
		var err error
		if e, err = q.Enroll(ctx, np); err != nil || !e.Created {
			return err
		}
		gr, err := s.rulesOf(ctx, q, np.GiveawayID)
		if err != nil {
			return err
		}
		ref, err := q.Refer(ctx, ReferralCredit{
			GiveawayID:     np.GiveawayID,
			InvitedUserID:  np.UserID,
			ReferrerUserID: referrerUserID,
			Bonus:          gr.Rules.ReferralBonus,
			MaxTickets:     gr.Rules.MaxTickets,
		})
		e.Referral = &ref
		return err
	})
	return e, err
}
