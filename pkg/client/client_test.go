package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/draw"
)

const (
	botToken      = "bot-token-for-client-tests"
	giveawayToken = "giveaway-token-for-client-tests"
	adminToken    = "admin-token-for-client-tests"
)

// TestClientAgainstTheService drives every endpoint through the client,
// signing the bot's requests, against the real service.
func TestClientAgainstTheService(t *testing.T) {
	svc := testenv.StartService(t, "SERVICE_TOKENS=bot:"+botToken+",giveaway:"+giveawayToken+",admin:"+adminToken)
	ctx := context.Background()
	bot, err := client.New(svc.URL, client.WithServiceToken(botToken), client.WithSigning(), client.WithServiceName("telegive-bot"))
	if err != nil {
		t.Fatal(err)
	}
	gw, _ := client.New(svc.URL, client.WithServiceToken(giveawayToken))
	admin, _ := client.New(svc.URL, client.WithServiceToken(adminToken))
	anonymous, _ := client.New(svc.URL)

	if _, err := anonymous.Register(ctx, client.RegisterRequest{GiveawayID: 1, UserID: 1}); !client.IsCode(err, client.CodeAuthRequired) {
		t.Fatalf("anonymous register: %v", err)
	}
	if _, err := gw.CommitDraw(ctx, 9); err != nil {
		t.Fatal(err)
	}
	var users []int64
	for u := int64(100); u < 110; u++ {
		res, err := bot.Register(ctx, client.RegisterRequest{GiveawayID: 9, UserID: u, Username: "user_" + strconv.FormatInt(u, 10)})
		if err != nil || !res.RequiresCaptcha || res.Challenge == nil {
			t.Fatalf("register %d: %+v %v", u, res, err)
		}
		a := testenv.SolveCaptcha(t, res.Challenge.Question)
		if u == 100 {
			wrong, err := bot.ValidateCaptcha(ctx, client.ValidateRequest{GiveawayID: 9, UserID: u, Answer: a + 1})
			if err != nil || wrong.CaptchaCompleted || wrong.AttemptsRemaining != 2 {
				t.Fatalf("wrong answer: %+v %v", wrong, err)
			}
		}
		ok, err := bot.ValidateCaptcha(ctx, client.ValidateRequest{GiveawayID: 9, UserID: u, Answer: a, SessionID: res.Challenge.SessionID})
		if err != nil || !ok.CaptchaCompleted || ok.ParticipantID == 0 {
			t.Fatalf("right answer: %+v %v", ok, err)
		}
		users = append(users, u)
	}
	_, err = bot.Register(ctx, client.RegisterRequest{GiveawayID: 9, UserID: 100})
	var e *client.Error
	if !client.IsCode(err, client.CodeDuplicate) || !asError(err, &e) || e.ParticipantID == 0 || e.Status != http.StatusConflict {
		t.Fatalf("duplicate: %v", err)
	}
	if st, err := bot.CaptchaStatus(ctx, 100); err != nil || !st.CaptchaCompleted || st.TotalParticipations != 1 {
		t.Fatalf("captcha status: %+v %v", st, err)
	}
	if n, err := gw.Count(ctx, 9); err != nil || n != 10 {
		t.Fatalf("count: %d %v", n, err)
	}
	if _, err := gw.Proof(ctx, 9, 100); !client.IsCode(err, client.CodeDrawNotCompleted) {
		t.Fatalf("proof before the draw: %v", err)
	}

	sel, err := gw.SelectWinners(ctx, 9, client.SelectRequest{WinnerCount: 3})
	if err != nil || len(sel.Winners) != 3 || sel.AlreadySelected || sel.SelectionMethod != draw.Version {
		t.Fatalf("select: %+v %v", sel, err)
	}
	again, err := gw.SelectWinners(ctx, 9, client.SelectRequest{WinnerCount: 3})
	if err != nil || !again.AlreadySelected || again.Draw.DrawSeed != sel.Draw.DrawSeed {
		t.Fatalf("select again: %+v %v", again, err)
	}
	rd, err := gw.Redraw(ctx, 9, []int64{sel.Winners[0].UserID}, "left the channel")
	if err != nil || len(rd.Replacements) != 1 {
		t.Fatalf("redraw: %+v %v", rd, err)
	}
	rec, err := anonymous.Draw(ctx, 9)
	if err != nil || rec.Status != draw.StatusDrawn {
		t.Fatalf("draw record: %+v %v", rec, err)
	}
	entrants, err := gw.Entrants(ctx, 9)
	if err != nil || !slices.Equal(entrants, users) {
		t.Fatalf("entrants: %v %v", entrants, err)
	}
	proofs, err := anonymous.WinnerProofs(ctx, 9)
	if err != nil || len(proofs) != 3 {
		t.Fatalf("winner proofs: %v %v", proofs, err)
	}
	mine, err := anonymous.Proof(ctx, 9, 105)
	if err != nil {
		t.Fatal(err)
	}
	if err := draw.Verify(rec, draw.VerifyOptions{Entrants: entrants, Proofs: append(proofs, mine)}); err != nil {
		t.Fatalf("the record fetched by the client does not verify: %v", err)
	}
	winners, rec2, err := gw.Winners(ctx, 9)
	if err != nil || len(winners) != 3 || rec2 == nil || rec2.DrawSeed != rec.DrawSeed {
		t.Fatalf("winners: %v %v %v", winners, rec2, err)
	}
	ws, err := bot.WinnerStatus(ctx, winners[0].UserID, 9)
	if err != nil || !ws.IsWinner || ws.TotalWinners != 3 {
		t.Fatalf("winner status: %+v %v", ws, err)
	}
	list, err := gw.ListParticipants(ctx, 9, 1, 4)
	if err != nil || len(list.Participants) != 4 || list.Pagination.Pages != 3 || list.Stats.Winners != 3 {
		t.Fatalf("list: %+v %v", list, err)
	}
	var exported int
	if err := gw.Export(ctx, 9, func(p client.Participant) error { exported++; return nil }); err != nil || exported != 10 {
		t.Fatalf("export: %d %v", exported, err)
	}
	var ids []int64
	for _, p := range list.Participants {
		ids = append(ids, p.ID)
	}
	del, err := bot.UpdateDeliveryStatus(ctx, client.DeliveryUpdate{ParticipantIDs: ids, Delivered: true})
	if err != nil || del.UpdatedCount != 4 {
		t.Fatalf("delivery: %+v %v", del, err)
	}
	if st, err := gw.Stats(ctx, 9); err != nil || st.MessagesDelivered != 4 || st.Winners != 3 {
		t.Fatalf("stats: %+v %v", st, err)
	}
	if h, err := bot.History(ctx, 100, 5); err != nil || len(h.RecentParticipations) != 1 {
		t.Fatalf("history: %+v %v", h, err)
	}
	if _, err := bot.AdminStats(ctx); !client.IsCode(err, client.CodeForbidden) {
		t.Fatalf("bot calling admin: %v", err)
	}
	if st, err := admin.AdminStats(ctx); err != nil || st.Participants != 10 {
		t.Fatalf("admin stats: %+v %v", st, err)
	}
	if _, err := admin.AdminCleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if h, err := anonymous.Health(ctx); err != nil || h.Status != "healthy" {
		t.Fatalf("health: %+v %v", h, err)
	}
	if _, err := bot.VerifySubscription(ctx, 1, 2); !client.IsCode(err, client.CodeServiceUnavailable) {
		t.Fatalf("verify subscription without upstreams: %v", err)
	}
}

func asError(err error, target **client.Error) bool {
	e, ok := err.(*client.Error)
	*target = e
	return ok
}

// TestRetriesOnlyRepeatableCalls: a read is retried through 503s; a
// registration is sent once.
func TestRetriesOnlyRepeatableCalls(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"success": false, "error": "busy", "error_code": "SERVICE_UNAVAILABLE"}`))
			return
		}
		_, _ = w.Write([]byte(`{"success": true, "giveaway_id": 1, "count": 7, "total_participants": 7}`))
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, client.WithRetries(3, 50*time.Millisecond))
	n, err := c.Count(context.Background(), 1)
	if err != nil || n != 7 || calls.Load() != 3 {
		t.Fatalf("count through two 503s: %d %v after %d calls", n, err, calls.Load())
	}
	calls.Store(0)
	_, err = c.Register(context.Background(), client.RegisterRequest{GiveawayID: 1, UserID: 1})
	if !client.IsCode(err, client.CodeServiceUnavailable) || calls.Load() != 1 {
		t.Fatalf("register must not be retried: %v after %d calls", err, calls.Load())
	}
}

func TestTimeouts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, client.WithTimeout(100*time.Millisecond), client.WithRetries(0, 0))
	start := time.Now()
	if _, err := c.Count(context.Background(), 1); err == nil || time.Since(start) > time.Second {
		t.Fatalf("a slow service must time out quickly: %v after %v", err, time.Since(start))
	}
	if _, err := client.New("not a url"); err == nil {
		t.Fatal("a bad base URL was accepted")
	}
	if _, err := client.New("http://x", client.WithSigning()); err == nil {
		t.Fatal("signing without a token was accepted")
	}
}

// TestRulesKeepsTheServedBytes: Rules returns the rules member exactly as
// served, the bytes a record's rules_sha256 hashes, not a re-encoding.
func TestRulesKeepsTheServedBytes(t *testing.T) {
	const rules = `{"exclude_admins":true,"max_tickets":3,"min_account_age_days":0,"premium_only":false,"recheck_at_draw":false,"referral_bonus":0,"required_chats":["@a\u00e9"]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/participants/42/rules" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true,"giveaway_id":42,"rules": ` + rules + ` ,"rules_sha256":"ab","custom":true,"locked":true}`))
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Rules(context.Background(), 42)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Rules) != rules || got.RulesSHA256 != "ab" || !got.Custom || !got.Locked || got.GiveawayID != 42 {
		t.Fatalf("Rules answered %+v with rules %s", got, got.Rules)
	}
}
