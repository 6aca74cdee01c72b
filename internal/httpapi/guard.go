package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/telegive/participant-service/internal/auth"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/ratelimit"
)

// Limits are the request budgets.
type Limits struct {
	// Caller is each authenticated caller's budget (API_RATE_LIMIT);
	// unauthenticated callers get it per client address.
	Caller ratelimit.Limit
	// User is each Telegram user's budget on register and
	// validate-captcha.
	User ratelimit.Limit
	// Public is each client address's budget on the public draw
	// endpoints.
	Public ratelimit.Limit
}

// guard authenticates the caller, checks that it holds one of the scopes,
// and charges its budget before the handler runs.
func (s *Server) guard(h http.HandlerFunc, scopes ...auth.Scope) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The signature covers the body, so it is read here, within the
		// size limit, and handed on.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				s.writeError(w, r, errPayloadTooLarge)
				return
			}
			s.writeError(w, r, participant.Errorf(participant.CodeInvalidJSON, "The request body could not be read."))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		caller, err := s.auth.Authenticate(r.Context(), r, body)
		switch {
		case errors.Is(err, auth.ErrRequired):
			s.authFailed(w, r, "required", codeAuthRequired, "A service token is required.")
			return
		case errors.Is(err, auth.ErrInvalid):
			s.log.InfoContext(r.Context(), "authentication refused", "route", routeName(r), "reason", err.Error())
			s.authFailed(w, r, "invalid", codeAuthInvalid, "The service credentials are invalid.")
			return
		case err != nil:
			s.writeError(w, r, err)
			return
		}
		infoOf(r.Context()).caller = caller.Name
		if !hasAny(caller, scopes) {
			if !caller.Authenticated {
				s.authFailed(w, r, "required", codeAuthRequired, "A service token is required for this endpoint.")
				return
			}
			s.authFailed(w, r, "forbidden", codeForbidden, "This caller may not use this endpoint.")
			return
		}
		key := "caller:" + caller.Name
		if !caller.Authenticated {
			s.obs.AnonymousCall(routeName(r))
			key = "anon:" + s.clientIP(r)
		}
		if !s.charge(w, r, "caller", key, s.opts.Limits.Caller) {
			return
		}
		h(w, r)
	})
}

func hasAny(c auth.Caller, scopes []auth.Scope) bool {
	for _, sc := range scopes {
		if c.Has(sc) {
			return true
		}
	}
	return false
}

// public charges the client address's budget on an open endpoint.
func (s *Server) public(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.charge(w, r, "public", "public:"+s.clientIP(r), s.opts.Limits.Public) {
			return
		}
		h(w, r)
	})
}

// chargeUser charges a Telegram user's budget on an endpoint, so one user
// cannot flood register or the captcha through the bot.
func (s *Server) chargeUser(w http.ResponseWriter, r *http.Request, endpoint string, userID int64) bool {
	return s.charge(w, r, "user", "user:"+endpoint+":"+strconv.FormatInt(userID, 10), s.opts.Limits.User)
}

// charge takes one request from key's budget and answers 429 when the
// budget is spent. The X-RateLimit headers describe the caller's (or the
// address's) budget, or the budget that refused the request. A zero limit
// is no limit.
func (s *Server) charge(w http.ResponseWriter, r *http.Request, kind, key string, l ratelimit.Limit) bool {
	limiter := s.limiter
	if kind == "caller" {
		limiter = s.callers
	}
	if l.Rate <= 0 || limiter == nil {
		return true
	}
	res, err := limiter.Allow(r.Context(), key, l)
	if err != nil {
		// The limiter fails open by construction; an error here is a bug.
		s.log.ErrorContext(r.Context(), "rate limiter failed", "error", err)
		return true
	}
	if res.Allowed && kind == "user" {
		return true
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(l.Burst))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("X-RateLimit-Reset", strconv.Itoa(ceilSeconds(res.ResetAfter)))
	if res.Allowed {
		return true
	}
	s.obs.RateLimited(kind)
	s.writeError(w, r, &participant.Error{
		Code:       codeRateLimited,
		Message:    "Too many requests. Please slow down.",
		RetryAfter: max(res.RetryAfter, time.Second),
	})
	return false
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, reason string, code participant.Code, msg string) {
	s.obs.AuthFailed(reason)
	if code != codeForbidden {
		w.Header().Set("WWW-Authenticate", `X-Service-Token realm="participant-service"`)
	}
	s.writeError(w, r, participant.Errorf(code, "%s", msg))
}

// clientIP is the address a request came from. X-Forwarded-For is believed
// only when the connection comes from a trusted proxy, and then its
// rightmost untrusted hop is taken.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(addr) {
		return host
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(hop) {
			return hop.String()
		}
	}
	return host
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// requireHTTPS refuses requests that did not arrive over HTTPS at the
// ingress, and tells browsers to stay on HTTPS. Health probes, which come
// from the kubelet over plain HTTP, are exempt.
func (s *Server) requireHTTPS(next http.Handler) http.Handler {
	if !s.opts.HTTPSOnly {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/health") {
			next.ServeHTTP(w, r)
			return
		}
		if r.TLS == nil && !strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			s.writeError(w, r, participant.Errorf(codeHTTPSRequired, "This service is only available over HTTPS."))
			return
		}
		w.Header().Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		next.ServeHTTP(w, r)
	})
}
