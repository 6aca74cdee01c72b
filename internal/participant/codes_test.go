package participant_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/telegive/participant-service/internal/participant"
)

// TestValidationCodes: each invalid field is refused with its documented
// error code, before the service touches storage (the service here has
// none). The codes are part of the API, so they are spelled out.
func TestValidationCodes(t *testing.T) {
	s := participant.NewService(nil, nil, nil, participant.Options{MaxWinners: 10})
	ctx := context.Background()
	ids := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i + 1)
		}
		return out
	}
	for _, c := range []struct {
		name, field, code string
		call              func() error
	}{
		{"register giveaway id", "giveaway_id", "INVALID_GIVEAWAY_ID", func() error {
			_, err := s.Register(ctx, participant.RegisterRequest{GiveawayID: 0, UserID: 1})
			return err
		}},
		{"register user id", "user_id", "INVALID_USER_ID", func() error {
			_, err := s.Register(ctx, participant.RegisterRequest{GiveawayID: 1, UserID: -5})
			return err
		}},
		{"register username", "username", "INVALID_USERNAME", func() error {
			_, err := s.Register(ctx, participant.RegisterRequest{GiveawayID: 1, UserID: 1, Username: "abc"})
			return err
		}},
		{"register first name", "first_name", "INVALID_FIRST_NAME", func() error {
			_, err := s.Register(ctx, participant.RegisterRequest{GiveawayID: 1, UserID: 1, FirstName: "a\x00b"})
			return err
		}},
		{"register last name", "last_name", "INVALID_LAST_NAME", func() error {
			_, err := s.Register(ctx, participant.RegisterRequest{GiveawayID: 1, UserID: 1, LastName: strings.Repeat("x", participant.MaxNameLength+1)})
			return err
		}},
		{"validate user id", "user_id", "INVALID_USER_ID", func() error {
			_, err := s.ValidateCaptcha(ctx, participant.ValidateRequest{GiveawayID: 1})
			return err
		}},
		{"captcha status user id", "user_id", "INVALID_USER_ID", func() error {
			_, err := s.CaptchaStatus(ctx, 0)
			return err
		}},
		{"winner status giveaway id", "giveaway_id", "INVALID_GIVEAWAY_ID", func() error {
			_, err := s.WinnerStatus(ctx, 1, 0)
			return err
		}},
		{"subscription account id", "account_id", "INVALID_ACCOUNT_ID", func() error {
			_, err := s.VerifySubscription(ctx, 1, 0)
			return err
		}},
		{"delivery without ids", "participant_ids", "MISSING_PARTICIPANT_IDS", func() error {
			_, err := s.UpdateDelivery(ctx, participant.DeliveryUpdate{})
			return err
		}},
		{"delivery with too many ids", "participant_ids", "TOO_MANY_PARTICIPANT_IDS", func() error {
			_, err := s.UpdateDelivery(ctx, participant.DeliveryUpdate{ParticipantIDs: ids(participant.MaxDeliveryBatch + 1)})
			return err
		}},
		{"delivery with a bad id", "participant_ids", "INVALID_PARTICIPANT_IDS", func() error {
			_, err := s.UpdateDelivery(ctx, participant.DeliveryUpdate{ParticipantIDs: []int64{1, 0}})
			return err
		}},
		{"select winner count", "winner_count", "INVALID_WINNER_COUNT", func() error {
			_, err := s.SelectWinners(ctx, 1, participant.SelectRequest{WinnerCount: 11})
			return err
		}},
		{"select without winner count", "winner_count", "MISSING_WINNER_COUNT", func() error {
			_, err := s.SelectWinners(ctx, 1, participant.SelectRequest{})
			return err
		}},
		{"select beacon", "beacon", "INVALID_BEACON", func() error {
			_, err := s.SelectWinners(ctx, 1, participant.SelectRequest{WinnerCount: 1, Beacon: "ABCD"})
			return err
		}},
		{"redraw without users", "disqualified_user_ids", "MISSING_DISQUALIFIED_USER_IDS", func() error {
			_, err := s.Redraw(ctx, 1, participant.RedrawRequest{Reason: "left"})
			return err
		}},
		{"redraw with too many users", "disqualified_user_ids", "INVALID_DISQUALIFIED_USER_IDS", func() error {
			_, err := s.Redraw(ctx, 1, participant.RedrawRequest{DisqualifiedUserIDs: ids(11), Reason: "left"})
			return err
		}},
		{"redraw with a bad user", "disqualified_user_ids", "INVALID_DISQUALIFIED_USER_IDS", func() error {
			_, err := s.Redraw(ctx, 1, participant.RedrawRequest{DisqualifiedUserIDs: []int64{-1}, Reason: "left"})
			return err
		}},
		{"redraw without reason", "reason", "MISSING_REASON", func() error {
			_, err := s.Redraw(ctx, 1, participant.RedrawRequest{DisqualifiedUserIDs: []int64{1}, Reason: "  "})
			return err
		}},
		{"redraw reason", "reason", "INVALID_REASON", func() error {
			_, err := s.Redraw(ctx, 1, participant.RedrawRequest{DisqualifiedUserIDs: []int64{1}, Reason: "a\x01b"})
			return err
		}},
		{"commit giveaway id", "giveaway_id", "INVALID_GIVEAWAY_ID", func() error {
			_, err := s.CommitDraw(ctx, 0)
			return err
		}},
		{"proof user id", "user_id", "INVALID_USER_ID", func() error {
			_, err := s.Proof(ctx, 1, 0)
			return err
		}},
		{"list page", "page", "INVALID_PAGE", func() error {
			_, err := s.List(ctx, 1, 0, 10)
			return err
		}},
		{"list limit", "limit", "INVALID_LIMIT", func() error {
			_, err := s.List(ctx, 1, 1, -1)
			return err
		}},
		{"history limit", "limit", "INVALID_LIMIT", func() error {
			_, _, err := s.History(ctx, 1, participant.MaxHistory+1)
			return err
		}},
		{"export giveaway id", "giveaway_id", "INVALID_GIVEAWAY_ID", func() error {
			return s.Export(ctx, 0, 10, func(participant.Participant) error { return nil })
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var e *participant.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a *participant.Error", err)
			}
			if string(e.Code) != c.code || len(e.Fields) == 0 || e.Fields[0].Field != c.field || string(e.Fields[0].Code) != c.code {
				t.Fatalf("code %s, fields %+v; want %s on %s", e.Code, e.Fields, c.code, c.field)
			}
		})
	}
}

// TestIDCodesNamed: the codes checkID derives from a field's name are the
// named constants callers compare with.
func TestIDCodesNamed(t *testing.T) {
	s := participant.NewService(nil, nil, nil, participant.Options{})
	ctx := context.Background()
	_, giveaway := s.CommitDraw(ctx, 0)
	_, user := s.CaptchaStatus(ctx, 0)
	_, account := s.VerifySubscription(ctx, 1, 0)
	for _, c := range []struct {
		err  error
		want participant.Code
	}{
		{giveaway, participant.CodeInvalidGiveawayID},
		{user, participant.CodeInvalidUserID},
		{account, participant.CodeInvalidAccountID},
	} {
		if got := participant.ErrorCode(c.err); got != c.want {
			t.Errorf("ErrorCode(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}
