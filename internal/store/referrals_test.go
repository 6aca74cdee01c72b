package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
)

// refer settles a referral in a transaction of its own.
func refer(t *testing.T, s *store.Store, c participant.ReferralCredit) participant.Referral {
	t.Helper()
	var r participant.Referral
	if err := s.InTx(context.Background(), func(q participant.Queries) error {
		var err error
		r, err = q.Refer(context.Background(), c)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReferStore: Refer records the referrer once, pays the bonus the
// domain allows up to max_tickets, pays nothing for a referrer who is not
// an entrant, and the schema refuses a self referral and a ticket count
// below 1 whatever the code does.
func TestReferStore(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, u := range []int64{1, 2, 3, 4} {
			if _, _, err := s.InsertParticipant(ctx, participant.NewParticipant{GiveawayID: 9, UserID: u, At: t0}); err != nil {
				t.Fatal(err)
			}
		}
		credit := func(invited, referrer int64) participant.ReferralCredit {
			return participant.ReferralCredit{GiveawayID: 9, InvitedUserID: invited, ReferrerUserID: referrer, Bonus: 3, MaxTickets: 5}
		}
		if r := refer(t, s, credit(2, 1)); r != (participant.Referral{ReferrerUserID: 1, Counted: true, BonusTickets: 3, ReferrerTickets: 4}) {
			t.Fatalf("first referral = %+v", r)
		}
		if r := refer(t, s, credit(2, 1)); r.Counted {
			t.Fatalf("the same participation counted twice: %+v", r)
		}
		if r := refer(t, s, credit(3, 1)); r != (participant.Referral{ReferrerUserID: 1, Counted: true, BonusTickets: 1, ReferrerTickets: 5}) {
			t.Fatalf("referral at the cap = %+v", r)
		}
		if r := refer(t, s, credit(4, 99)); r != (participant.Referral{ReferrerUserID: 99}) {
			t.Fatalf("referral by a non-entrant = %+v", r)
		}
		if r := refer(t, s, credit(50, 1)); r.Counted {
			t.Fatalf("a referral of no participation counted: %+v", r)
		}
		p, err := s.Participant(ctx, 9, 1)
		if err != nil || p.Tickets != 5 {
			t.Fatalf("referrer = %+v, %v; want 5 tickets", p, err)
		}
		invited, err := s.Participant(ctx, 9, 2)
		if err != nil || invited.ReferrerUserID != 1 || invited.ReferralTickets != 3 {
			t.Fatalf("invited = %+v, %v", invited, err)
		}
		for _, stmt := range []string{
			"UPDATE participants SET referrer_user_id = user_id WHERE user_id = 1",
			"UPDATE participants SET referrer_user_id = 0 WHERE user_id = 1",
			"UPDATE participants SET referral_tickets = 2 WHERE user_id = 1",
			"UPDATE participants SET tickets = 0 WHERE user_id = 1",
			"UPDATE captcha_challenges SET referrer_user_id = user_id",
		} {
			if strings.Contains(stmt, "captcha_challenges") {
				if _, err := s.DB().ExecContext(ctx, `INSERT INTO captcha_challenges (user_id, session_id, giveaway_id, question, answer,
					max_attempts, issued_at, expires_at, window_started_at, issued_in_window) VALUES (1, 's', 9, 'q', 1, 3, ?, ?, ?, 1)`, t0, t0, t0); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.DB().ExecContext(ctx, stmt); err == nil {
				t.Errorf("the schema accepted %s", stmt)
			}
		}
	})
}

// TestReferralMigrationDown: the referral migration's down file undoes
// its up file, and the up file applies again after it.
func TestReferralMigrationDown(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		dir := filepath.Join("..", "..", "migrations", s.Dialect())
		run := func(name string) {
			t.Helper()
			b, err := os.ReadFile(filepath.Join(dir, "20261213000001_referrals.tx."+name+".sql"))
			if err != nil {
				t.Fatal(err)
			}
			for _, stmt := range strings.Split(stripComments(string(b)), ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := s.DB().ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %s: %v", name, stmt, err)
				}
			}
		}
		columns := func() int {
			t.Helper()
			var n int
			q := `SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema()
				AND column_name IN ('referrer_user_id', 'referral_tickets')`
			if s.Dialect() == "sqlite" {
				q = `SELECT (SELECT count(*) FROM pragma_table_info('participants') WHERE name IN ('referrer_user_id', 'referral_tickets'))
					+ (SELECT count(*) FROM pragma_table_info('captcha_challenges') WHERE name = 'referrer_user_id')`
			}
			if err := s.DB().QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := columns(); n != 3 {
			t.Fatalf("%d referral columns after the migrations, want 3", n)
		}
		run("down")
		if n := columns(); n != 0 {
			t.Fatalf("%d referral columns after down, want 0", n)
		}
		run("up")
		if n := columns(); n != 3 {
			t.Fatalf("%d referral columns after up again, want 3", n)
		}
	})
}

// stripComments drops the SQL's -- comments.
func stripComments(sql string) string {
	var out []string
	for _, line := range strings.Split(sql, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
