package auth_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/auth"
	"github.com/telegive/participant-service/pkg/signing"
)

const (
	botToken   = "bot-token-0123456789"
	bot2Token  = "bot-token-rotated-abcdef"
	gwToken    = "giveaway-token-0123456789"
	adminToken = "admin-token-0123456789"
)

func tokens(t *testing.T) auth.Tokens {
	t.Helper()
	tk, err := auth.LoadTokens("bot:"+botToken+",bot:"+bot2Token+", giveaway:"+gwToken+",admin:"+adminToken, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestLoadTokens(t *testing.T) {
	if tk := tokens(t); tk.Len() != 4 || strings.Join(tk.Names(), ",") != "admin,bot,giveaway" {
		t.Fatalf("tokens: %d %v", tk.Len(), tk.Names())
	}
	dir := t.TempDir()
	// A Kubernetes Secret mounted as files: one per caller.
	for name, content := range map[string]string{"bot": botToken + "\n" + bot2Token + "\n", "giveaway": gwToken, "..data": "ignored"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tk, err := auth.LoadTokens("", dir, "legacy-shared-secret-123")
	if err != nil || tk.Len() != 4 || strings.Join(tk.Names(), ",") != "bot,giveaway,legacy" {
		t.Fatalf("directory tokens: %v %v %v", tk.Len(), tk.Names(), err)
	}
	file := filepath.Join(t.TempDir(), "tokens")
	_ = os.WriteFile(file, []byte("# comment\nadmin:"+adminToken+"\n"), 0o600)
	if tk, err := auth.LoadTokens("", file, ""); err != nil || tk.Len() != 1 {
		t.Fatalf("file tokens: %v %v", tk.Len(), err)
	}
	for _, bad := range []string{"bot", "stranger:" + botToken, "bot:short"} {
		if _, err := auth.LoadTokens(bad, "", ""); err == nil || !strings.Contains(err.Error(), "SERVICE_TOKENS") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if _, err := auth.LoadTokens("", "", "short"); err == nil || !strings.Contains(err.Error(), "SERVICE_TO_SERVICE_SECRET") {
		t.Errorf("short legacy secret: %v", err)
	}
}

func TestModesAndScopes(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		mode    auth.Mode
		token   string
		err     error
		name    string
		bot, gw bool
		admin   bool
	}{
		{auth.ModeRequired, "", auth.ErrRequired, "", false, false, false},
		{auth.ModeRequired, "wrong-token-value-xyz", auth.ErrInvalid, "", false, false, false},
		{auth.ModeRequired, botToken, nil, "bot", true, false, false},
		{auth.ModeRequired, bot2Token, nil, "bot", true, false, false},
		{auth.ModeRequired, gwToken, nil, "giveaway", false, true, false},
		{auth.ModeRequired, adminToken, nil, "admin", true, true, true},
		{auth.ModePermissive, "", nil, "anonymous", true, true, false},
		{auth.ModePermissive, "wrong-token-value-xyz", auth.ErrInvalid, "", false, false, false},
		{auth.ModePermissive, gwToken, nil, "giveaway", false, true, false},
		{auth.ModeOff, "wrong-token-value-xyz", nil, "anonymous", true, true, true},
	}
	for _, c := range cases {
		a := auth.New(auth.Options{Tokens: tokens(t), Mode: c.mode})
		r := httptest.NewRequest("POST", "/api/participants/register", nil)
		if c.token != "" {
			r.Header.Set("X-Service-Token", c.token)
		}
		caller, err := a.Authenticate(ctx, r, nil)
		if !errors.Is(err, c.err) {
			t.Errorf("%s %q: err = %v, want %v", c.mode, c.token, err, c.err)
			continue
		}
		if err != nil {
			continue
		}
		if caller.Name != c.name || caller.Has(auth.ScopeBot) != c.bot || caller.Has(auth.ScopeGiveaway) != c.gw || caller.Has(auth.ScopeAdmin) != c.admin {
			t.Errorf("%s %q: caller %+v", c.mode, c.token, caller)
		}
	}
}

func TestSignedRequests(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := auth.New(auth.Options{Tokens: tokens(t), Mode: auth.ModeRequired, Now: func() time.Time { return now }})
	ctx := context.Background()
	body := []byte(`{"giveaway_id": 1, "user_id": 2}`)
	signed := func(ts int64, b []byte, uri string) error {
		r := httptest.NewRequest("POST", uri, nil)
		r.Header.Set("X-Service-Token", botToken)
		r.Header.Set("X-Timestamp", strconv.FormatInt(ts, 10))
		r.Header.Set("X-Signature", signing.Sign(botToken, "POST", "/api/participants/register?x=1", ts, body))
		_, err := a.Authenticate(ctx, r, b)
		return err
	}
	if err := signed(now.Unix(), body, "/api/participants/register?x=1"); err != nil {
		t.Fatalf("a good signature was refused: %v", err)
	}
	if err := signed(now.Unix(), body, "/api/participants/register?x=1"); !errors.Is(err, auth.ErrInvalid) || !strings.Contains(err.Error(), "replayed") {
		t.Fatalf("a replay was accepted: %v", err)
	}
	if err := signed(now.Unix()-1, []byte(`{"giveaway_id": 1, "user_id": 3}`), "/api/participants/register?x=1"); !errors.Is(err, auth.ErrInvalid) {
		t.Fatalf("a changed body was accepted: %v", err)
	}
	if err := signed(now.Unix()-2, body, "/api/participants/register?x=2"); !errors.Is(err, auth.ErrInvalid) {
		t.Fatalf("a changed query was accepted: %v", err)
	}
	if err := signed(now.Unix()-301, body, "/api/participants/register?x=1"); !errors.Is(err, auth.ErrInvalid) || !strings.Contains(err.Error(), "window") {
		t.Fatalf("a stale signature was accepted: %v", err)
	}
	if err := signed(now.Unix()+301, body, "/api/participants/register?x=1"); !errors.Is(err, auth.ErrInvalid) {
		t.Fatalf("a future signature was accepted: %v", err)
	}
	// With signatures required, an unsigned request is refused.
	strict := auth.New(auth.Options{Tokens: tokens(t), Mode: auth.ModeRequired, RequireSignatures: true})
	r := httptest.NewRequest("POST", "/x", nil)
	r.Header.Set("X-Service-Token", botToken)
	if _, err := strict.Authenticate(ctx, r, nil); !errors.Is(err, auth.ErrInvalid) {
		t.Fatalf("an unsigned request passed a strict authenticator: %v", err)
	}
}
