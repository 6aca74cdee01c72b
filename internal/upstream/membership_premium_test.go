package upstream_test

import (
	"context"
	"testing"

	"github.com/telegive/participant-service/internal/participant"
)

// TestMembershipPremium: the is_premium of the answer's user is read as
// Telegram sends it, true or false, and is nil when the answer does not
// carry it, when the user is not in the chat at all ("user not found"),
// and when the answer comes from the cache.
func TestMembershipPremium(t *testing.T) {
	b := newBot(t, nil)
	ctx := context.Background()
	a, bb := participant.ChatByID(chanA), participant.ChatByUsername("chan_b")
	premium := func(m participant.Membership) string {
		if m.IsPremium == nil {
			return "absent"
		}
		if *m.IsPremium {
			return "true"
		}
		return "false"
	}
	b.tg.SetPremium(member, true).SetPremium(left, false)
	for _, c := range []struct {
		user int64
		chat participant.ChatRef
		want string
	}{
		{member, a, "true"},
		{left, a, "false"},
		{admin, a, "absent"},
		{stranger, a, "absent"}, // "user not found": no user in the answer
	} {
		ms, err := b.subs.RecheckMemberships(ctx, account, c.user, []participant.ChatRef{c.chat})
		if err != nil || len(ms) != 1 || ms[0].Err != nil {
			t.Fatalf("user %d: %+v, %v", c.user, ms, err)
		}
		if got := premium(ms[0]); got != c.want {
			t.Errorf("user %d in %s: is_premium %s, want %s", c.user, c.chat, got, c.want)
		}
	}
	// The re-check above cached user member's answer in chanA, which
	// keeps no premium; chan_b is asked.
	ms, err := b.check(t, member, a, bb)
	if err != nil || premium(ms[0]) != "absent" || premium(ms[1]) != "true" || b.tg.Requests("-1001001", member) != 1 {
		t.Fatalf("check: %+v, %v (%d calls about chanA)", ms, err, b.tg.Requests("-1001001", member))
	}
}
