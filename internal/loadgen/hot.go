package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Outcomes of a hot registration, by the answer's status.
const (
	outcomeCreated   = "201"
	outcomeDuplicate = "409"
	outcomeShed      = "503_retry_after"
	outcomeNoID      = "201_without_participant_id"
)

// hotTarget is the load of a hot giveaway: every registration goes to one
// giveaway, each from a user who has passed the captcha, sent straight over
// HTTP so that the harness sees each answer's status and Retry-After, and
// every acknowledged registration is noted for the exactly-once check.
type hotTarget struct {
	hc       *http.Client
	endpoint string
	token    string
	giveaway int64
	// users are sent in order, once each; past the end they wrap around
	// (and are answered 409).
	users []int64
	next  atomic.Int64
	// repeat is the share of requests that send an already sent user again,
	// as users who press twice do.
	repeat float64
	acks   *ackLog
}

func newHotTarget(hc *http.Client, base, token string, giveaway int64, users []int64, repeat float64) *hotTarget {
	return &hotTarget{hc: hc, endpoint: base + "/api/participants/register", token: token,
		giveaway: giveaway, users: users, repeat: repeat, acks: newAckLog()}
}

// pick returns the next user to register: a fresh one, or with probability
// repeat one already sent.
func (h *hotTarget) pick() int64 {
	if h.repeat > 0 && rand.Float64() < h.repeat {
		if n := min(h.next.Load(), int64(len(h.users))); n > 0 {
			return h.users[rand.Int64N(n)]
		}
	}
	i := h.next.Add(1) - 1
	return h.users[i%int64(len(h.users))]
}

// wrapped reports whether the pool of fresh users ran out.
func (h *hotTarget) wrapped() bool { return h.next.Load() > int64(len(h.users)) }

// scenario registers one user, measured from due.
func (h *hotTarget) scenario(ctx context.Context, rec *recorder, due time.Time) {
	out := h.register(ctx, h.pick())
	rec.record("register_hot", time.Since(due), out)
}

// register sends one registration and returns its outcome.
func (h *hotTarget) register(ctx context.Context, user int64) string {
	body := make([]byte, 0, 64)
	body = append(body, `{"giveaway_id":`...)
	body = strconv.AppendInt(body, h.giveaway, 10)
	body = append(body, `,"user_id":`...)
	body = strconv.AppendInt(body, user, 10)
	body = append(body, '}')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.endpoint, bytes.NewReader(body))
	if err != nil {
		return "request"
	}
	req.Header.Set("Content-Type", "application/json")
	if h.token != "" {
		req.Header.Set("X-Service-Token", h.token)
	}
	h.acks.sent(user)
	resp, err := h.hc.Do(req)
	if err != nil {
		return outcome(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return outcome(err)
	}
	return h.acks.classify(user, resp.StatusCode, resp.Header.Get("Retry-After"), b)
}

// ackLog notes every user the harness sent and every answer that says the
// user is registered, with the participant id the answer gave.
type ackLog struct {
	mu         sync.Mutex
	sentTo     map[int64]struct{}
	created    map[int64]int64 // 201: user → participant id
	duplicates map[int64]int64 // 409: user → participant id
	// doubleAcks are users answered 201 more than once.
	doubleAcks []int64
}

func newAckLog() *ackLog {
	return &ackLog{sentTo: map[int64]struct{}{}, created: map[int64]int64{}, duplicates: map[int64]int64{}}
}

func (a *ackLog) sent(user int64) {
	a.mu.Lock()
	a.sentTo[user] = struct{}{}
	a.mu.Unlock()
}

// classify names an answer to a registration of user and notes what it
// acknowledged.
func (a *ackLog) classify(user int64, status int, retryAfter string, body []byte) string {
	switch status {
	case http.StatusCreated:
		id := participantID(body)
		if id == 0 {
			return outcomeNoID
		}
		a.mu.Lock()
		if _, twice := a.created[user]; twice {
			a.doubleAcks = append(a.doubleAcks, user)
		} else {
			a.created[user] = id
		}
		a.mu.Unlock()
		return outcomeCreated
	case http.StatusConflict:
		if id := participantID(body); id != 0 {
			a.mu.Lock()
			a.duplicates[user] = id
			a.mu.Unlock()
		}
		return outcomeDuplicate
	case http.StatusServiceUnavailable:
		if retryAfter != "" {
			return outcomeShed
		}
		return "503_without_retry_after"
	}
	return "status_" + strconv.Itoa(status)
}

// participantID reads participant_id from a registration's answer (201) or
// a DUPLICATE_PARTICIPATION error (409); 0 when it has none.
func participantID(body []byte) int64 {
	var v struct {
		ParticipantID int64 `json:"participant_id"`
	}
	if json.Unmarshal(body, &v) != nil {
		return 0
	}
	return v.ParticipantID
}
