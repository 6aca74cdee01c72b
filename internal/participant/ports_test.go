package participant_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participant"
)

// users fakes the one noun CaptchaStatus reads.
type users map[int64]participant.User

func (u users) User(_ context.Context, id int64) (participant.User, error) {
	if id == 13 {
		return participant.User{}, errors.New("disk on fire")
	}
	if r, ok := u[id]; ok {
		return r, nil
	}
	return participant.User{}, participant.ErrNotFound
}

func (users) AddParticipation(context.Context, int64, time.Time) error { panic("not faked") }
func (users) CompleteCaptcha(context.Context, int64, time.Time) error  { panic("not faked") }
func (users) AddWins(context.Context, []int64, int) error              { panic("not faked") }

// usersOnly is a Store whose every noun but users is absent: calling one
// panics on the nil interface.
type usersOnly struct {
	participant.ParticipantQueries
	users
	participant.ChallengeQueries
	participant.DrawQueries
	participant.AdminQueries
	participant.LogQueries
	participant.RuleQueries
}

func (usersOnly) InTx(context.Context, func(participant.Queries) error) error { panic("not faked") }
func (usersOnly) WithLogLock(context.Context, func(context.Context) error) error {
	panic("not faked")
}

// TestCaptchaStatusFakesOneNoun: a test fakes only the noun it needs. An
// unknown user is a user who has done nothing yet; a stored one is
// returned as stored; a failure passes through.
func TestCaptchaStatusFakesOneNoun(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	known := participant.User{UserID: 7, CaptchaCompleted: true, CaptchaCompletedAt: &at, TotalParticipations: 3, TotalWins: 1}
	s := participant.NewService(usersOnly{users: users{7: known}}, nil, nil, participant.Options{})
	ctx := context.Background()

	got, err := s.CaptchaStatus(ctx, 7)
	if err != nil || got.UserID != 7 || !got.CaptchaCompleted || !got.CaptchaCompletedAt.Equal(at) || got.TotalParticipations != 3 || got.TotalWins != 1 {
		t.Fatalf("known user: %+v, %v", got, err)
	}
	got, err = s.CaptchaStatus(ctx, 8)
	if err != nil || got != (participant.User{UserID: 8}) {
		t.Fatalf("unknown user: %+v, %v; want a blank record for user 8", got, err)
	}
	if _, err = s.CaptchaStatus(ctx, 13); err == nil || err.Error() != "disk on fire" {
		t.Fatalf("failing store: err = %v, want it passed through", err)
	}
}
