// Package telegramtest is a stand-in for the Telegram Bot API's
// getChatMember and for the channel and auth services, for tests. Chats
// are set up by id and @username, members by status; every answer is the
// one Telegram gives (its status codes and descriptions), and faults
// (5xx, slow answers, 429 with retry_after, redirects) are switched on
// and off while a test runs. Requests are counted per chat and user, so
// a test can prove that a cache spared Telegram a call.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Member is a user's standing in a chat, as getChatMember reports it.
type Member struct {
	Status   string
	IsMember bool // meaningful for "restricted" only
}

// The statuses Telegram reports.
var (
	Creator       = Member{Status: "creator"}
	Administrator = Member{Status: "administrator"}
	Joined        = Member{Status: "member"}
	Left          = Member{Status: "left"}
	Kicked        = Member{Status: "kicked"}
)

// Restricted is a restricted user, still in the chat or not.
func Restricted(isMember bool) Member { return Member{Status: "restricted", IsMember: isMember} }

// Fault is a failure the server answers with instead of the truth.
type Fault struct {
	// Status, when set, is the answer's status: 500, 502, 503 come with
	// Telegram's error body, 429 with RetryAfter in parameters.retry_after.
	Status     int
	RetryAfter int
	// Delay holds the answer back (or until the client gives up).
	Delay time.Duration
	// RedirectTo, when set, answers 302 to this base URL followed by the
	// request's own path and query, which carry the bot token.
	RedirectTo string
	// Times is how many requests get the fault; 0 means all until Heal.
	Times int
}

// Server50x is a Telegram server error.
func Server50x(status int) Fault { return Fault{Status: status} }

// TooManyRequests is Telegram's flood control.
func TooManyRequests(retryAfter int) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// Slow answers correctly, after d.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// RedirectTo answers every request with a redirect to base.
func RedirectTo(base string) Fault { return Fault{RedirectTo: strings.TrimSuffix(base, "/")} }

// BotAccess is what the bot may do in a chat, which decides whether
// Telegram lets it see the members.
type BotAccess int

// Bot access levels, with Telegram's answer to getChatMember for each.
const (
	// BotIsAdmin: the bot sees every member (the default).
	BotIsAdmin BotAccess = iota
	// BotNotAdmin: 400 "Bad Request: member list is inaccessible".
	BotNotAdmin
	// BotNotMember: 403 "Forbidden: bot is not a member of the channel chat".
	BotNotMember
	// BotKicked: 403 "Forbidden: bot was kicked from the channel chat".
	BotKicked
)

type chat struct {
	id       int64
	username string
	bot      BotAccess
	members  map[int64]Member
}

// Server is the stand-in Bot API. Its zero value is not usable: call New.
type Server struct {
	// URL is the base to configure as TELEGRAM_API_BASE.
	URL string

	mu         sync.Mutex
	tokens     map[string]bool
	chats      []*chat
	fault      *Fault
	chatFaults map[string]*Fault
	requests   map[string]int
	premium    map[int64]bool
	total      int
	badTokens  int
	inFlight   int
	maxFlight  int
}

// New starts a stand-in Bot API that accepts the given bot tokens (at
// least one); it stops when the test ends.
func New(t testing.TB, tokens ...string) *Server {
	t.Helper()
	if len(tokens) == 0 {
		t.Fatal("telegramtest.New needs a bot token")
	}
	s := &Server{tokens: map[string]bool{}, chatFaults: map[string]*Fault{}, requests: map[string]int{}, premium: map[int64]bool{}}
	for _, tok := range tokens {
		s.tokens[tok] = true
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// AddChat sets up a chat by id and, when username is not empty, by
// @username too; the bot is an administrator there. Users not given a
// status get Telegram's 400 "user not found".
func (s *Server) AddChat(id int64, username string) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chats = append(s.chats, &chat{id: id, username: strings.ToLower(strings.TrimPrefix(username, "@")), members: map[int64]Member{}})
	return s
}

// SetMember gives the user a status in the chat (by id or "@username").
func (s *Server) SetMember(chatRef string, userID int64, m Member) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustChat(chatRef).members[userID] = m
	return s
}

// SetPremium has every answer about the user, in any chat, carry
// is_premium in the ChatMember's user. Telegram itself sends the field
// only when it is true; without SetPremium no answer carries it.
func (s *Server) SetPremium(userID int64, premium bool) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.premium[userID] = premium
	return s
}

// SetBotAccess sets what the bot may do in the chat.
func (s *Server) SetBotAccess(chatRef string, a BotAccess) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustChat(chatRef).bot = a
	return s
}

// Fail makes every request fail with f until Heal (or f.Times requests).
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = &f
}

// FailChat makes requests about one chat (as the client names it: an id
// or "@username") fail with f.
func (s *Server) FailChat(chatRef string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatFaults[normal(chatRef)] = &f
}

// Heal ends every fault.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = nil
	s.chatFaults = map[string]*Fault{}
}

// Requests is how many getChatMember requests named the chat (as the
// client named it: "-100..." or "@username", in any case) and the user.
func (s *Server) Requests(chatRef string, userID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[requestKey(normal(chatRef), userID)]
}

// Total is how many requests reached the server, whatever they asked.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// BadTokens is how many requests carried a token the server does not
// accept (answered 401, as Telegram does).
func (s *Server) BadTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.badTokens
}

// MaxInFlight is the most requests the server held at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFlight
}

func (s *Server) mustChat(ref string) *chat {
	if c := s.find(normal(ref)); c != nil {
		return c
	}
	panic("telegramtest: no chat " + ref + "; AddChat it first")
}

func (s *Server) find(ref string) *chat {
	for _, c := range s.chats {
		if ref == strconv.FormatInt(c.id, 10) || c.username != "" && ref == "@"+c.username {
			return c
		}
	}
	return nil
}

func normal(ref string) string { return strings.ToLower(strings.TrimSpace(ref)) }

func requestKey(chat string, user int64) string { return chat + "/" + strconv.FormatInt(user, 10) }

// ServeHTTP answers /bot<token>/getChatMember as Telegram does, by GET
// query or POST form.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	if !strings.HasPrefix(r.URL.Path, "/bot") || !ok {
		writeError(w, http.StatusNotFound, "Not Found", 0)
		return
	}
	_ = r.ParseForm()
	chatRef, user := normal(r.Form.Get("chat_id")), r.Form.Get("user_id")
	userID, _ := strconv.ParseInt(user, 10, 64)

	s.mu.Lock()
	s.total++
	s.inFlight++
	s.maxFlight = max(s.maxFlight, s.inFlight)
	if method == "getChatMember" {
		s.requests[requestKey(chatRef, userID)]++
	}
	f := s.takeFault(chatRef)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()

	if f != nil {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case f.RedirectTo != "":
			http.Redirect(w, r, f.RedirectTo+r.URL.RequestURI(), http.StatusFound)
			return
		case f.Status == http.StatusTooManyRequests:
			writeError(w, f.Status, fmt.Sprintf("Too Many Requests: retry after %d", f.RetryAfter), f.RetryAfter)
			return
		case f.Status != 0:
			writeError(w, f.Status, http.StatusText(f.Status), 0)
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.tokens[token]:
		s.badTokens++
		writeError(w, http.StatusUnauthorized, "Unauthorized", 0)
	case method != "getChatMember":
		writeError(w, http.StatusNotFound, "Not Found", 0)
	case chatRef == "":
		writeError(w, http.StatusBadRequest, "Bad Request: chat_id is empty", 0)
	case userID <= 0:
		writeError(w, http.StatusBadRequest, "Bad Request: invalid user_id specified", 0)
	default:
		c := s.find(chatRef)
		switch {
		case c == nil:
			writeError(w, http.StatusBadRequest, "Bad Request: chat not found", 0)
		case c.bot == BotNotAdmin:
			writeError(w, http.StatusBadRequest, "Bad Request: member list is inaccessible", 0)
		case c.bot == BotNotMember:
			writeError(w, http.StatusForbidden, "Forbidden: bot is not a member of the channel chat", 0)
		case c.bot == BotKicked:
			writeError(w, http.StatusForbidden, "Forbidden: bot was kicked from the channel chat", 0)
		default:
			m, ok := c.members[userID]
			if !ok {
				writeError(w, http.StatusBadRequest, "Bad Request: user not found", 0)
				return
			}
			premium, told := s.premium[userID]
			writeMember(w, userID, m, premium, told)
		}
	}
}

// takeFault returns the fault for this request, counting down limited
// ones; s.mu is held.
func (s *Server) takeFault(chatRef string) *Fault {
	take := func(f *Fault, clear func()) *Fault {
		if f == nil {
			return nil
		}
		got := *f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				clear()
			}
		}
		return &got
	}
	if f := take(s.chatFaults[chatRef], func() { delete(s.chatFaults, chatRef) }); f != nil {
		return f
	}
	return take(s.fault, func() { s.fault = nil })
}

func writeMember(w http.ResponseWriter, userID int64, m Member, premium, withPremium bool) {
	user := map[string]any{"id": userID, "is_bot": false, "first_name": "User"}
	if withPremium {
		user["is_premium"] = premium
	}
	result := map[string]any{"status": m.Status, "user": user}
	if m.Status == "restricted" {
		result["is_member"] = m.IsMember
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": result})
}

func writeError(w http.ResponseWriter, status int, description string, retryAfter int) {
	body := map[string]any{"ok": false, "error_code": status, "description": description}
	if retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": retryAfter}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
