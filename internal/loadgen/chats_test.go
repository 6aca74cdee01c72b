package loadgen

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestChatSetWalksEveryPairOnce: the registrations of a side go through
// every (giveaway, user) pair once, giveaway first, and say when they
// start again.
func TestChatSetWalksEveryPairOnce(t *testing.T) {
	set := &chatSet{giveaways: []int64{10, 11, 12}}
	users := []int64{1, 2}
	seen := map[[2]int64]bool{}
	var last int64
	for i := range 6 {
		g, u, again := set.pair(users)
		if again || seen[[2]int64{g, u}] {
			t.Fatalf("registration %d: pair (%d, %d) again (repeat %v)", i, g, u, again)
		}
		if g == last {
			t.Fatalf("registration %d: giveaway %d twice in a row", i, g)
		}
		seen[[2]int64{g, u}], last = true, g
	}
	if _, _, again := set.pair(users); !again {
		t.Fatal("the seventh registration of six pairs is not reported as a repeat")
	}
}

// TestStandInAnswersAsTelegram: a bot token for any account, "member" for
// any user of any chat under that token, Telegram's 404 for another.
func TestStandInAnswersAsTelegram(t *testing.T) {
	s, err := startStandIn("")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	get := func(path string, out any) int {
		t.Helper()
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	var tok struct {
		Success  bool   `json:"success"`
		BotToken string `json:"bot_token"`
	}
	if st := get("/api/auth/bot-token/7", &tok); st != http.StatusOK || !tok.Success || tok.BotToken != standInToken {
		t.Fatalf("bot token: %d %+v", st, tok)
	}
	var m struct {
		OK     bool `json:"ok"`
		Result struct {
			Status string `json:"status"`
			User   struct {
				ID int64 `json:"id"`
			} `json:"user"`
		} `json:"result"`
	}
	if st := get("/bot"+standInToken+"/getChatMember?chat_id=-1001&user_id=42", &m); st != http.StatusOK || !m.OK || m.Result.Status != "member" || m.Result.User.ID != 42 {
		t.Fatalf("getChatMember: %d %+v", st, m)
	}
	var e struct {
		OK bool `json:"ok"`
	}
	if st := get("/botother/getChatMember?chat_id=-1001&user_id=42", &e); st != http.StatusNotFound || e.OK {
		t.Fatalf("another token: %d %+v", st, e)
	}
	if n := s.lookups.Load(); n != 1 {
		t.Fatalf("%d lookups counted, want 1", n)
	}
	env := s.env()
	if len(env) != 3 || env[2] != "TELEGRAM_API_BASE="+s.URL {
		t.Fatalf("env = %v", env)
	}
}

// TestSpawnedCPU reads a process's CPU time: this test's own, which grows
// by about what the test burns.
func TestSpawnedCPU(t *testing.T) {
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	s := &spawned{cmd: &exec.Cmd{Process: self}}
	before := s.cpu()
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
	}
	used := s.cpu() - before
	if used < 50*time.Millisecond || used > 2*time.Second {
		t.Fatalf("CPU time %v, then %v more after burning 300 ms", before, used)
	}
}
