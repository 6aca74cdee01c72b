package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// The draw protocols DRAW_PROTOCOL selects for new giveaways.
const (
	// ProtocolAuto probes the beacon relays at start-up: v2 when the
	// pinned chain answers, else v1 with a warning.
	ProtocolAuto = "auto"
	// ProtocolV2 is telegive-draw-v2: winners from a public drand beacon
	// round fixed at the freeze.
	ProtocolV2 = "v2"
	// ProtocolV1 is telegive-draw-v1: winners from the operator's seed.
	ProtocolV1 = "v1"
)

// DefaultLogOrigin is the draw log's origin, and its note key's name,
// unless LOG_ORIGIN says otherwise.
const DefaultLogOrigin = "telegive.org/participant-service/draw-log"

// quicknetHash is the chain hash of League of Entropy's quicknet, whose
// info package beacon pins.
const quicknetHash = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"

// Draws holds the settings of verifiable draws: the protocol new
// giveaways get, the drand beacon (telegive-draw-v2), the witnesses that
// cosign the draw log and the log's signing key.
//
// The beacon chain is named by its hash alone. Quicknet's info (key,
// genesis, period, scheme) is pinned in package beacon; any other chain's
// info is read from the relays and accepted only if it hashes to
// BEACON_CHAIN_HASH. The hash covers the period, genesis time, public key,
// group hash and beacon id, so an info that hashes to it is as pinned as
// one typed in by hand, and there is no second setting to get out of step.
type Draws struct {
	// DrawProtocol is the protocol new giveaways are committed under:
	// ProtocolAuto, ProtocolV2 or ProtocolV1.
	DrawProtocol string   `env:"DRAW_PROTOCOL" envDefault:"auto"`
	ChainHash    string   `env:"BEACON_CHAIN_HASH" envDefault:"52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"`
	Relays       []string `env:"BEACON_RELAYS" envSeparator:"," envDefault:"https://api.drand.sh,https://api2.drand.sh,https://api3.drand.sh,https://drand.cloudflare.com"`
	// BeaconDelay is the whole seconds from a freeze to its beacon round.
	BeaconDelay Seconds `env:"BEACON_DELAY" envDefault:"10" want:"whole seconds, at least one beacon period (3 s on quicknet)"`
	// BeaconTimeout bounds one attempt at one relay.
	BeaconTimeout Seconds `env:"BEACON_TIMEOUT" envDefault:"3"`
	// BeaconWait bounds how long select-winners and redraw wait for a
	// beacon round before answering 503 BEACON_UNAVAILABLE, counted from
	// the start of the request: below the giveaway service's own 30 s
	// timeout, so that it reads the answer.
	BeaconWait     Seconds  `env:"BEACON_WAIT" envDefault:"25"`
	WitnessURLs    []string `env:"WITNESS_URLS" envSeparator:","`
	WitnessKeys    []string `env:"WITNESS_KEYS" envSeparator:","`
	WitnessQuorum  Quorum   `env:"WITNESS_QUORUM" envDefault:"all" want:"all, or a whole number from 1 to the number of WITNESS_URLS"`
	WitnessTimeout Seconds  `env:"WITNESS_TIMEOUT" envDefault:"5"`
	// LogSigningKey is the draw log's note signing key,
	// PRIVATE+KEY+<origin>+<hash>+<base64>; empty makes one, once, kept in
	// the database.
	LogSigningKey string `env:"LOG_SIGNING_KEY"`
	LogOrigin     string `env:"LOG_ORIGIN" envDefault:"telegive.org/participant-service/draw-log"`
	// CheckpointInterval is how often a grown log gets a new signed
	// checkpoint, submitted to the witnesses.
	CheckpointInterval Seconds `env:"LOG_CHECKPOINT_INTERVAL" envDefault:"10"`
}

// Quorum is how many witnesses must cosign: "all" (0) or a count.
type Quorum int

// UnmarshalText implements encoding.TextUnmarshaler.
func (q *Quorum) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.EqualFold(s, "all") {
		*q = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return fmt.Errorf("%q is neither all nor a whole number above 0", s)
	}
	*q = Quorum(n)
	return nil
}

// String formats the quorum as it is configured.
func (q Quorum) String() string {
	if q == 0 {
		return "all"
	}
	return strconv.Itoa(int(q))
}

// ChainHashBytes returns BEACON_CHAIN_HASH as bytes; Load has checked it.
func (d Draws) ChainHashBytes() []byte {
	b, _ := hex.DecodeString(d.ChainHash)
	return b
}

// Quicknet reports whether the chain is quicknet, pinned in package
// beacon, rather than one to resolve from the relays.
func (d Draws) Quicknet() bool { return d.ChainHash == quicknetHash }

// Witnessed reports whether witnesses are configured.
func (d Draws) Witnessed() bool { return len(d.WitnessURLs) > 0 }

// cosignMargin is how long before the beacon round's time a counted
// cosignature must be made (the protocol's 3 s).
const cosignMargin = 3 * time.Second

func (d Draws) validate(r *refusals) {
	r.wantf(d.DrawProtocol == ProtocolAuto || d.DrawProtocol == ProtocolV2 || d.DrawProtocol == ProtocolV1, "DRAW_PROTOCOL",
		"auto, v2 or v1")
	h, err := hex.DecodeString(d.ChainHash)
	r.wantf(err == nil && len(h) == beacon.HashSize && strings.ToLower(d.ChainHash) == d.ChainHash, "BEACON_CHAIN_HASH",
		"a drand chain hash, 64 lowercase hex digits")
	r.check(len(d.Relays) > 0, "BEACON_RELAYS", "must list at least one drand relay")
	seen := map[string]bool{}
	for _, relay := range d.Relays {
		r.check(validBaseURL(relay), "BEACON_RELAYS", "%q is not an http:// or https:// base URL", relay)
		r.check(!seen[relay], "BEACON_RELAYS", "%q is listed twice", relay)
		seen[relay] = true
	}
	period := time.Duration(0)
	if d.Quicknet() {
		period = beacon.Quicknet().Period
	}
	r.wantf(d.BeaconDelay >= Seconds(max(period, time.Second)) && d.BeaconDelay.D()%time.Second == 0, "BEACON_DELAY",
		"whole seconds, at least one beacon period (%v on this chain)", max(period, time.Second))
	r.want(d.BeaconTimeout > 0, "BEACON_TIMEOUT")
	r.wantf(d.BeaconWait > d.BeaconDelay, "BEACON_WAIT", "%s, above BEACON_DELAY (%v) so the round can come", wantSeconds, d.BeaconDelay.D())
	r.want(d.WitnessTimeout > 0, "WITNESS_TIMEOUT")

	r.check(len(d.WitnessURLs) == len(d.WitnessKeys), "WITNESS_KEYS",
		"lists %d keys for %d WITNESS_URLS: want one cosignature/v1 verifier key per URL, in the same order", len(d.WitnessKeys), len(d.WitnessURLs))
	for _, u := range d.WitnessURLs {
		r.check(validBaseURL(u), "WITNESS_URLS", "%q is not an http:// or https:// URL", u)
	}
	names := map[string]bool{}
	for _, k := range d.WitnessKeys {
		v, err := drawlog.NewWitnessVerifier(k)
		if err != nil {
			r.check(false, "WITNESS_KEYS", "%q is not a cosignature/v1 verifier key (want name+hash+base64 of 0x04 and an Ed25519 key)", k)
			continue
		}
		r.check(!names[v.Name()], "WITNESS_KEYS", "two keys are named %s: each witness needs its own name", v.Name())
		names[v.Name()] = true
	}
	r.wantf(int(d.WitnessQuorum) <= len(d.WitnessURLs), "WITNESS_QUORUM",
		"all, or a whole number from 1 to the number of WITNESS_URLS (%d)", len(d.WitnessURLs))
	if d.Witnessed() && d.BeaconDelay.D() > 0 && d.WitnessTimeout > 0 {
		// A cosignature counts only if made 3 s before the round: a delay
		// shorter than that and one witness request leaves no attestation
		// possible, and every draw would say it is not attested.
		r.wantf(d.BeaconDelay.D() >= cosignMargin+d.WitnessTimeout.D(), "BEACON_DELAY",
			"whole seconds, at least WITNESS_TIMEOUT (%v) + 3 s, so that witnesses can cosign the freeze before its beacon round",
			d.WitnessTimeout.D())
	}

	r.check(validKeyName(d.LogOrigin), "LOG_ORIGIN", "%q is not a log origin: want a non-empty name without spaces or +", d.LogOrigin)
	if d.LogSigningKey != "" {
		// The key is a secret: its refusals never quote it.
		name, _, err := parseSigningKey(d.LogSigningKey)
		switch {
		case err != nil:
			r.check(false, "LOG_SIGNING_KEY", "is not a note signing key: want PRIVATE+KEY+<name>+<hash>+<base64> of an Ed25519 key, as participant-service log-keygen prints (the value is not shown)")
		case name != d.LogOrigin:
			r.check(false, "LOG_SIGNING_KEY", "is the key of %q, not of LOG_ORIGIN %q: the key's name must be the log's origin", name, d.LogOrigin)
		}
	}
	r.want(d.CheckpointInterval > 0, "LOG_CHECKPOINT_INTERVAL")
}

// LogVerifierKey returns the verifier key of LOG_SIGNING_KEY, which
// verifiers pin, or "" when none is configured.
func (d Draws) LogVerifierKey() string {
	if d.LogSigningKey == "" {
		return ""
	}
	_, vkey, _ := parseSigningKey(d.LogSigningKey)
	return vkey
}

// parseSigningKey checks a note signing key and returns its name and
// verifier key. golang.org/x/mod's note package parses the key (and checks
// its hash) but has no function from a signer key to its verifier key, so
// the Ed25519 public key is derived from the seed the signer key holds
// (0x01 || seed) and encoded by the package.
func parseSigningKey(skey string) (name, vkey string, err error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return "", "", err
	}
	// PRIVATE+KEY+name+hash+base64: the key is the fifth field (base64
	// itself may hold a +).
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if len(parts) != 5 || err != nil || len(raw) != 1+ed25519.SeedSize {
		return "", "", fmt.Errorf("not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err = note.NewEd25519VerifierKey(s.Name(), pub)
	return s.Name(), vkey, err
}

// trimEntries trims the entries of a list and drops the empty ones, so that
// "a, b," is [a b].
func trimEntries(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// validKeyName is note's rule for key names: not empty, no space, no +.
func validKeyName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, unicode.IsSpace) && !strings.Contains(s, "+")
}

// validBaseURL reports whether s is an http or https URL with a host and
// neither query nor fragment.
func validBaseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == "" && u.Fragment == "" &&
		!strings.ContainsFunc(s, unicode.IsSpace)
}
