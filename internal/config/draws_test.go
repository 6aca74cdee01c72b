package config_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/config"
)

// witnessKey returns a fresh cosignature/v1 verifier key named name.
func witnessKey(t *testing.T, name string) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := torchwood.NewCosignatureSigner(name, key)
	if err != nil {
		t.Fatal(err)
	}
	return s.Verifier().String()
}

// logKey returns a fresh note key pair named name.
func logKey(t *testing.T, name string) (skey, vkey string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

func TestDrawDefaults(t *testing.T) {
	c, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := c.Draws
	checks := []struct {
		name      string
		got, want any
	}{
		{"DRAW_PROTOCOL", d.DrawProtocol, "auto"},
		{"BEACON_CHAIN_HASH", d.ChainHash, "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"},
		{"quicknet", d.Quicknet(), true},
		{"BEACON_RELAYS", strings.Join(d.Relays, " "), "https://api.drand.sh https://api2.drand.sh https://api3.drand.sh https://drand.cloudflare.com"},
		{"BEACON_DELAY", d.BeaconDelay.D(), 10 * time.Second},
		{"BEACON_TIMEOUT", d.BeaconTimeout.D(), 3 * time.Second},
		{"BEACON_WAIT", d.BeaconWait.D(), 25 * time.Second},
		{"WITNESS_URLS", len(d.WitnessURLs), 0},
		{"WITNESS_QUORUM", d.WitnessQuorum.String(), "all"},
		{"WITNESS_TIMEOUT", d.WitnessTimeout.D(), 5 * time.Second},
		{"LOG_SIGNING_KEY", d.LogSigningKey, ""},
		{"LOG_ORIGIN", d.LogOrigin, config.DefaultLogOrigin},
		{"LOG_CHECKPOINT_INTERVAL", d.CheckpointInterval.D(), 10 * time.Second},
		{"verifier key", d.LogVerifierKey(), ""},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestDrawSettingsFromTheEnvironment(t *testing.T) {
	w1, w2 := witnessKey(t, "witness.example/one"), witnessKey(t, "witness.example/two")
	skey, vkey := logKey(t, "example.org/draw-log")
	c, err := config.Load([]string{
		"DRAW_PROTOCOL=v2", "BEACON_CHAIN_HASH=" + strings.Repeat("ab", 32), "BEACON_RELAYS=http://relay-a:8080,https://relay-b.example/base",
		"BEACON_DELAY=12", "BEACON_TIMEOUT=1.5", "BEACON_WAIT=20s",
		"WITNESS_URLS=https://w1.example/tlog,https://w2.example", "WITNESS_KEYS=" + w1 + "," + w2, "WITNESS_QUORUM=1", "WITNESS_TIMEOUT=2",
		"LOG_SIGNING_KEY=" + skey, "LOG_ORIGIN=example.org/draw-log", "LOG_CHECKPOINT_INTERVAL=1m",
	})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Draws
	if d.DrawProtocol != "v2" || d.Quicknet() || len(d.ChainHashBytes()) != 32 || d.ChainHashBytes()[0] != 0xab ||
		strings.Join(d.Relays, " ") != "http://relay-a:8080 https://relay-b.example/base" || d.BeaconDelay.D() != 12*time.Second ||
		d.BeaconTimeout.D() != 1500*time.Millisecond || d.BeaconWait.D() != 20*time.Second || !d.Witnessed() ||
		strings.Join(d.WitnessKeys, ",") != w1+","+w2 || int(d.WitnessQuorum) != 1 || d.WitnessTimeout.D() != 2*time.Second ||
		d.LogOrigin != "example.org/draw-log" || d.CheckpointInterval.D() != time.Minute {
		t.Fatalf("draws = %+v", d)
	}
	if got := d.LogVerifierKey(); got != vkey {
		t.Fatalf("LogVerifierKey = %q, want %q", got, vkey)
	}
}

// TestDrawSettingsRefusals: every draw setting refuses a bad value with
// the variable and what it wants, quoting the value unless it is a secret.
func TestDrawSettingsRefusals(t *testing.T) {
	w1 := witnessKey(t, "witness.example/one")
	skey, _ := logKey(t, config.DefaultLogOrigin)
	otherKey, _ := logKey(t, "other.example/log")
	_, logVerifier := logKey(t, "w.example")
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"protocol", []string{"DRAW_PROTOCOL=v3"}, `DRAW_PROTOCOL="v3": want auto, v2 or v1`},
		{"chain hash short", []string{"BEACON_CHAIN_HASH=52db9b"}, `BEACON_CHAIN_HASH="52db9b": want a drand chain hash, 64 lowercase hex digits`},
		{"chain hash upper case", []string{"BEACON_CHAIN_HASH=" + strings.Repeat("AB", 32)},
			fmt.Sprintf("BEACON_CHAIN_HASH=%q: want a drand chain hash, 64 lowercase hex digits", strings.Repeat("AB", 32))},
		{"no relays", []string{"BEACON_RELAYS=,"}, "BEACON_RELAYS: must list at least one drand relay"},
		{"relay not a URL", []string{"BEACON_RELAYS=api.drand.sh"}, `BEACON_RELAYS: "api.drand.sh" is not an http:// or https:// base URL`},
		{"relay with a query", []string{"BEACON_RELAYS=https://a.example/?x=1"}, `BEACON_RELAYS: "https://a.example/?x=1" is not an http:// or https:// base URL`},
		{"relay twice", []string{"BEACON_RELAYS=https://a.example,https://a.example"}, `BEACON_RELAYS: "https://a.example" is listed twice`},
		{"delay below the period", []string{"BEACON_DELAY=2"}, `BEACON_DELAY="2": want whole seconds, at least one beacon period (3s on this chain)`},
		{"delay with a fraction", []string{"BEACON_DELAY=10.5"}, `BEACON_DELAY="10.5": want whole seconds, at least one beacon period (3s on this chain)`},
		{"delay zero on another chain", []string{"BEACON_CHAIN_HASH=" + strings.Repeat("ab", 32), "BEACON_DELAY=0"},
			`BEACON_DELAY="0": want whole seconds, at least one beacon period (1s on this chain)`},
		{"timeout zero", []string{"BEACON_TIMEOUT=0"}, `BEACON_TIMEOUT="0": want ` + strings.TrimPrefix(wantSeconds, "want ")},
		{"wait not above the delay", []string{"BEACON_WAIT=10"},
			`BEACON_WAIT="10": ` + wantSeconds + `, above BEACON_DELAY (10s) so the round can come`},
		{"witness timeout zero", []string{"WITNESS_TIMEOUT=0"}, `WITNESS_TIMEOUT="0": ` + wantSeconds},
		{"keys without URLs", []string{"WITNESS_KEYS=" + w1},
			"WITNESS_KEYS: lists 1 keys for 0 WITNESS_URLS: want one cosignature/v1 verifier key per URL, in the same order"},
		{"witness URL", []string{"WITNESS_URLS=witness.example", "WITNESS_KEYS=" + w1}, `WITNESS_URLS: "witness.example" is not an http:// or https:// URL`},
		{"witness key", []string{"WITNESS_URLS=https://w.example", "WITNESS_KEYS=w+12345678+AAAA"},
			`WITNESS_KEYS: "w+12345678+AAAA" is not a cosignature/v1 verifier key (want name+hash+base64 of 0x04 and an Ed25519 key)`},
		{"witness key of a log", []string{"WITNESS_URLS=https://w.example", "WITNESS_KEYS=" + logVerifier},
			fmt.Sprintf("WITNESS_KEYS: %q is not a cosignature/v1 verifier key (want name+hash+base64 of 0x04 and an Ed25519 key)", logVerifier)},
		{"two witnesses one name", []string{"WITNESS_URLS=https://a.example,https://b.example", "WITNESS_KEYS=" + w1 + "," + witnessKey(t, "witness.example/one")},
			"WITNESS_KEYS: two keys are named witness.example/one: each witness needs its own name"},
		{"quorum unreadable", []string{"WITNESS_QUORUM=most"}, `WITNESS_QUORUM="most": want all, or a whole number from 1 to the number of WITNESS_URLS`},
		{"quorum above the witnesses", []string{"WITNESS_URLS=https://w.example", "WITNESS_KEYS=" + w1, "WITNESS_QUORUM=2"},
			`WITNESS_QUORUM="2": want all, or a whole number from 1 to the number of WITNESS_URLS (1)`},
		{"quorum without witnesses", []string{"WITNESS_QUORUM=1"}, `WITNESS_QUORUM="1": want all, or a whole number from 1 to the number of WITNESS_URLS (0)`},
		{"delay too short to cosign", []string{"WITNESS_URLS=https://w.example", "WITNESS_KEYS=" + w1, "BEACON_DELAY=6"},
			`BEACON_DELAY="6": want whole seconds, at least WITNESS_TIMEOUT (5s) + 3 s, so that witnesses can cosign the freeze before its beacon round`},
		{"origin with a space", []string{"LOG_ORIGIN=my log"}, `LOG_ORIGIN: "my log" is not a log origin: want a non-empty name without spaces or +`},
		{"origin with a plus", []string{"LOG_ORIGIN=a+b"}, `LOG_ORIGIN: "a+b" is not a log origin: want a non-empty name without spaces or +`},
		{"signing key unreadable", []string{"LOG_SIGNING_KEY=PRIVATE+KEY+secret-material"},
			"LOG_SIGNING_KEY: is not a note signing key: want PRIVATE+KEY+<name>+<hash>+<base64> of an Ed25519 key, as participant-service log-keygen prints (the value is not shown)"},
		{"signing key with a bad hash", []string{"LOG_SIGNING_KEY=" + flipHash(skey)},
			"LOG_SIGNING_KEY: is not a note signing key: want PRIVATE+KEY+<name>+<hash>+<base64> of an Ed25519 key, as participant-service log-keygen prints (the value is not shown)"},
		{"signing key of another origin", []string{"LOG_SIGNING_KEY=" + otherKey},
			`LOG_SIGNING_KEY: is the key of "other.example/log", not of LOG_ORIGIN "telegive.org/participant-service/draw-log": the key's name must be the log's origin`},
		{"checkpoint interval", []string{"LOG_CHECKPOINT_INTERVAL=0"}, `LOG_CHECKPOINT_INTERVAL="0": ` + wantSeconds},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Load(c.env)
			if err == nil {
				t.Fatalf("%v was accepted", c.env)
			}
			if err.Error() != c.want {
				t.Fatalf("error\n  %s\nwant\n  %s", err, c.want)
			}
			for _, e := range c.env {
				if v, ok := strings.CutPrefix(e, "LOG_SIGNING_KEY="); ok && strings.Contains(err.Error(), v) {
					t.Fatalf("the refusal quotes the signing key: %s", err)
				}
			}
		})
	}
}

// flipHash changes the key hash of a note key, which no longer matches its
// key.
func flipHash(skey string) string {
	parts := strings.Split(skey, "+")
	h := []byte(parts[3])
	if h[0] == '0' {
		h[0] = '1'
	} else {
		h[0] = '0'
	}
	parts[3] = string(h)
	return strings.Join(parts, "+")
}
