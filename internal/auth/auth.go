// Package auth authenticates the services that call this one. A caller
// presents X-Service-Token; the token's name (bot, giveaway, admin) decides
// its scopes. Requests may also be signed (X-Timestamp and X-Signature, as
// package signing computes them), accepted within a window and only once.
package auth

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/pkg/signing"
)

// Scope is a set of endpoints a caller may use.
type Scope string

// Scopes. Admin holds every scope.
const (
	ScopeBot      Scope = "bot"
	ScopeGiveaway Scope = "giveaway"
	ScopeAdmin    Scope = "admin"
)

// scopesOf maps caller names to scopes. The legacy shared secret, which
// every Telegive service used to send, is trusted as much as the bot and
// giveaway services together, but never as admin.
var scopesOf = map[string][]Scope{
	"bot":      {ScopeBot},
	"giveaway": {ScopeGiveaway},
	"admin":    {ScopeAdmin, ScopeBot, ScopeGiveaway},
	"legacy":   {ScopeBot, ScopeGiveaway},
}

// Mode is how strictly callers are authenticated.
type Mode string

// Modes.
const (
	// ModeRequired refuses requests without a valid token.
	ModeRequired Mode = "required"
	// ModePermissive lets callers without a token use the bot and
	// giveaway scopes, logged and counted, so that today's callers keep
	// working while they are given tokens. A wrong token is still refused,
	// and admin endpoints still need one.
	ModePermissive Mode = "permissive"
	// ModeOff trusts every caller with every scope.
	ModeOff Mode = "off"
)

// Errors for the HTTP layer to map.
var (
	ErrRequired  = errors.New("auth: a service token is required")
	ErrInvalid   = errors.New("auth: the credentials are invalid")
	ErrForbidden = errors.New("auth: the caller may not use this endpoint")
)

// Caller is who sent a request.
type Caller struct {
	// Name is the token's name, or "anonymous".
	Name          string
	Authenticated bool
	Signed        bool
	scopes        []Scope
}

// Has reports whether the caller holds the scope.
func (c Caller) Has(s Scope) bool {
	for _, have := range c.scopes {
		if have == s {
			return true
		}
	}
	return false
}

// token is one accepted secret. Tokens are compared through their SHA-256
// digests, so the comparison takes the same time whatever the lengths.
type token struct {
	name   string
	secret string
	digest [32]byte
}

// Tokens are the accepted secrets; a caller may have several, for
// rotation.
type Tokens struct {
	list []token
}

// Len is the number of tokens.
func (t Tokens) Len() int { return len(t.list) }

// Names lists the callers that have tokens.
func (t Tokens) Names() []string {
	seen := map[string]bool{}
	var out []string
	for _, tk := range t.list {
		if !seen[tk.name] {
			seen[tk.name] = true
			out = append(out, tk.name)
		}
	}
	sort.Strings(out)
	return out
}

func (t *Tokens) add(name, secret string) error {
	name, secret = strings.TrimSpace(name), strings.TrimSpace(secret)
	if _, ok := scopesOf[name]; !ok {
		return fmt.Errorf("unknown caller %q (want bot, giveaway or admin)", name)
	}
	if len(secret) < 16 {
		return fmt.Errorf("the %s token is shorter than 16 characters", name)
	}
	t.list = append(t.list, token{name: name, secret: secret, digest: sha256.Sum256([]byte(secret))})
	return nil
}

// ParseTokens reads "name:token" pairs separated by commas or newlines.
func ParseTokens(s string) (Tokens, error) {
	var t Tokens
	return t, t.parse(s)
}

func (t *Tokens) parse(s string) error {
	for _, pair := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if pair = strings.TrimSpace(pair); pair == "" || strings.HasPrefix(pair, "#") {
			continue
		}
		name, secret, ok := strings.Cut(pair, ":")
		if !ok {
			return errors.New("an entry is not of the form name:token")
		}
		if err := t.add(name, secret); err != nil {
			return err
		}
	}
	return nil
}

// LoadTokens combines the configured sources: "name:token" pairs, a file
// of such pairs or a directory mounted from a Kubernetes Secret (one file
// per caller, named after it, holding one token per line), and the legacy
// shared secret.
func LoadTokens(pairs, path, legacy string) (Tokens, error) {
	var t Tokens
	if err := t.parse(pairs); err != nil {
		return Tokens{}, fmt.Errorf("SERVICE_TOKENS: %w", err)
	}
	if path != "" {
		if err := t.loadPath(path); err != nil {
			return Tokens{}, fmt.Errorf("SERVICE_TOKENS_FILE: %w", err)
		}
	}
	if legacy != "" {
		if err := t.add("legacy", legacy); err != nil {
			return Tokens{}, fmt.Errorf("SERVICE_TO_SERVICE_SECRET: %w", err)
		}
	}
	return t, nil
}

func (t *Tokens) loadPath(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return t.parse(string(b))
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		// Kubernetes mounts keys through ..data symlinks; skip the
		// bookkeeping entries.
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		f, err := os.Open(filepath.Join(path, e.Name()))
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				if err := t.add(e.Name(), line); err != nil {
					f.Close()
					return err
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return err
		}
	}
	return nil
}

// lookup finds the token in constant time with respect to its value: every
// entry is compared, without an early exit.
func (t Tokens) lookup(presented string) (token, bool) {
	d := sha256.Sum256([]byte(presented))
	var found token
	ok := 0
	for _, tk := range t.list {
		if subtle.ConstantTimeCompare(d[:], tk.digest[:]) == 1 {
			found, ok = tk, 1
		}
	}
	return found, ok == 1
}

// Options configure an Authenticator.
type Options struct {
	Tokens            Tokens
	Mode              Mode
	RequireSignatures bool
	// Window is how far a signed request's timestamp may be from now.
	Window time.Duration
	// Nonces remembers signatures already used; in process memory when
	// nil, which protects one replica only.
	Nonces Nonces
	Now    func() time.Time
}

// Nonces remembers the signatures of requests already served.
type Nonces interface {
	// Remember records signature for ttl and reports whether it was new.
	Remember(ctx context.Context, signature string, ttl time.Duration) (bool, error)
}

// NoncesFunc adapts a function to Nonces.
type NoncesFunc func(ctx context.Context, signature string, ttl time.Duration) (bool, error)

// Remember implements Nonces.
func (f NoncesFunc) Remember(ctx context.Context, signature string, ttl time.Duration) (bool, error) {
	return f(ctx, signature, ttl)
}

// memoryNonces keeps the signatures in this process.
type memoryNonces struct{ c *cache.Memory }

func (m memoryNonces) Remember(ctx context.Context, signature string, ttl time.Duration) (bool, error) {
	return m.c.Add(ctx, signature, []byte{1}, ttl)
}

// Authenticator checks requests.
type Authenticator struct {
	opts Options
}

// New returns an Authenticator.
func New(o Options) *Authenticator {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Window <= 0 {
		o.Window = 5 * time.Minute
	}
	if o.Nonces == nil {
		o.Nonces = memoryNonces{cache.NewMemory(100_000, o.Now)}
	}
	return &Authenticator{opts: o}
}

// Anonymous is the caller of a request without credentials where that is
// allowed.
func (a *Authenticator) anonymous() Caller {
	c := Caller{Name: "anonymous"}
	switch a.opts.Mode {
	case ModeOff:
		c.scopes = []Scope{ScopeAdmin, ScopeBot, ScopeGiveaway}
	case ModePermissive:
		c.scopes = []Scope{ScopeBot, ScopeGiveaway}
	}
	return c
}

// Authenticate identifies the caller of r, whose body has been read into
// body. Without credentials it returns the anonymous caller when the mode
// allows one, and ErrRequired otherwise; wrong credentials are always
// ErrInvalid (except with ModeOff, which looks at nothing).
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, body []byte) (Caller, error) {
	if a.opts.Mode == ModeOff {
		return a.anonymous(), nil
	}
	presented := r.Header.Get("X-Service-Token")
	if presented == "" {
		if a.opts.Mode == ModePermissive {
			return a.anonymous(), nil
		}
		return Caller{}, ErrRequired
	}
	tk, ok := a.opts.Tokens.lookup(presented)
	if !ok {
		return Caller{}, ErrInvalid
	}
	c := Caller{Name: tk.name, Authenticated: true, scopes: scopesOf[tk.name]}
	sig := r.Header.Get("X-Signature")
	if sig == "" && !a.opts.RequireSignatures {
		return c, nil
	}
	if err := a.verifySignature(ctx, r, body, tk.secret, sig); err != nil {
		return Caller{}, err
	}
	c.Signed = true
	return c, nil
}

func (a *Authenticator) verifySignature(ctx context.Context, r *http.Request, body []byte, secret, sig string) error {
	ts, err := strconv.ParseInt(r.Header.Get("X-Timestamp"), 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("%w: X-Timestamp and X-Signature are required", ErrInvalid)
	}
	now := a.opts.Now()
	if d := now.Sub(time.Unix(ts, 0)); d > a.opts.Window || d < -a.opts.Window {
		return fmt.Errorf("%w: the signature's timestamp is outside the window", ErrInvalid)
	}
	want := signing.Sign(secret, r.Method, r.URL.RequestURI(), ts, body)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
		return fmt.Errorf("%w: the signature does not match", ErrInvalid)
	}
	// A signature is unique to its request and timestamp; remembering it
	// for twice the window refuses every replay.
	fresh, err := a.opts.Nonces.Remember(ctx, want, 2*a.opts.Window)
	if err != nil {
		return fmt.Errorf("auth: remember the signature: %w", err)
	}
	if !fresh {
		return fmt.Errorf("%w: the request was replayed", ErrInvalid)
	}
	return nil
}
