package config_test

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/telegive/participant-service/internal/config"
)

// fuzzedVariables are the variables FuzzLoad sets, picked by index: the
// parsed types (a rate, durations in seconds and in minutes), the lists, a
// number and a switch.
var fuzzedVariables = []string{"API_RATE_LIMIT", "DATABASE_POOL_TIMEOUT", "CAPTCHA_TIMEOUT_MINUTES", "CORS_ORIGINS", "TRUSTED_PROXIES", "SERVICE_PORT", "ENABLE_METRICS"}

// listVariables are refused with the entry at fault; every other fuzzed
// variable is refused with its whole value quoted and what it wants.
var listVariables = map[string]bool{"CORS_ORIGINS": true, "TRUSTED_PROXIES": true}

// plainNumber is a value every reader would take as a count of units.
var plainNumber = regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,3})?$`)

// FuzzLoad sets one variable to a fuzzed value. Load never panics; a
// refusal names the variable, so the operator knows what to fix, and
// quotes the value and says what is wanted; and an accepted value means
// what it says.
func FuzzLoad(f *testing.F) {
	f.Add(uint8(0), "1000 per hour")
	f.Add(uint8(1), "2.5")
	f.Add(uint8(2), "90s")
	f.Add(uint8(3), " https://a.example/ ,*")
	f.Add(uint8(4), "10.0.0.0/8, ::1")
	f.Add(uint8(5), "8080")
	f.Add(uint8(6), "true")
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := fuzzedVariables[int(which)%len(fuzzedVariables)]
		cfg, err := config.Load([]string{name + "=" + value})
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%q: the error does not name the variable: %v", name, value, err)
			}
			if !listVariables[name] && (!strings.Contains(err.Error(), strconv.Quote(value)) || !strings.Contains(err.Error(), ": want ")) {
				t.Fatalf("%s=%q: the error does not quote the value and say what is wanted: %v", name, value, err)
			}
			if strings.Contains(err.Error(), "strconv") {
				t.Fatalf("%s=%q: the error speaks of the parser: %v", name, value, err)
			}
			return
		}
		core := strings.TrimFunc(value, unicode.IsSpace)
		switch name {
		case "API_RATE_LIMIT":
			r := cfg.APIRateLimit
			if r.Requests < 1 || r.Period != time.Second && r.Period != time.Minute && r.Period != time.Hour && r.Period != 24*time.Hour {
				t.Fatalf("%s=%q accepted as %+v", name, value, r)
			}
			// The limit prints the way it is configured and reads back the
			// same.
			again, err := config.Load([]string{name + "=" + r.String()})
			if err != nil || again.APIRateLimit != r {
				t.Fatalf("%s=%q: %+v prints as %q, which reads back as %+v, %v", name, value, r, r.String(), again.APIRateLimit, err)
			}
		case "DATABASE_POOL_TIMEOUT":
			checkDuration(t, name, value, core, cfg.Database.PoolTimeout.D(), time.Second, 30*time.Second)
		case "CAPTCHA_TIMEOUT_MINUTES":
			checkDuration(t, name, value, core, cfg.Captcha.ChallengeTimeout.D(), time.Minute, 10*time.Minute)
		case "CORS_ORIGINS":
			for _, o := range cfg.CORSOrigins {
				if o != strings.TrimSpace(o) || o == "" {
					t.Fatalf("%s=%q: origin %q is not trimmed", name, value, o)
				}
				if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
					t.Fatalf("%s=%q: %q accepted as an origin", name, value, o)
				}
				if !strings.Contains(value, o) {
					t.Fatalf("%s=%q: origin %q is not in the value", name, value, o)
				}
			}
		case "SERVICE_PORT":
			want := 8004
			if value != "" {
				n, err := strconv.Atoi(value)
				if err != nil {
					t.Fatalf("%s=%q accepted as %d, but it is not a whole number", name, value, cfg.ServicePort)
				}
				want = n
			}
			if cfg.ServicePort != want || cfg.ServicePort < 1 || cfg.ServicePort > 65535 {
				t.Fatalf("%s=%q accepted as %d", name, value, cfg.ServicePort)
			}
		case "ENABLE_METRICS":
			want := true
			if value != "" {
				b, err := strconv.ParseBool(value)
				if err != nil {
					t.Fatalf("%s=%q accepted as %v, but it is not true or false", name, value, cfg.EnableMetrics)
				}
				want = b
			}
			if cfg.EnableMetrics != want {
				t.Fatalf("%s=%q accepted as %v", name, value, cfg.EnableMetrics)
			}
		case "TRUSTED_PROXIES":
			ps, err := cfg.TrustedProxyPrefixes()
			if err != nil {
				t.Fatalf("%s=%q: Load accepted what TrustedProxyPrefixes refuses: %v", name, value, err)
			}
			for _, p := range ps {
				if !p.IsValid() || p != p.Masked() {
					t.Fatalf("%s=%q: prefix %v is not valid and masked", name, value, p)
				}
			}
		}
	})
}

// checkDuration holds an accepted duration to its meaning: positive, a
// blank value is the default, a number counts units, and a number too large
// for a time.Duration is never accepted as something else.
func checkDuration(t *testing.T, name, value, core string, got, unit, def time.Duration) {
	t.Helper()
	if got <= 0 {
		t.Fatalf("%s=%q accepted as %v", name, value, got)
	}
	if core == "" && got != def {
		t.Fatalf("%s=%q (blank) = %v, want the default %v", name, value, got, def)
	}
	if n, err := strconv.ParseFloat(core, 64); err == nil {
		if want := n * float64(unit); math.IsInf(n, 0) || math.IsNaN(n) || want >= math.MaxInt64 {
			t.Fatalf("%s=%q is out of range but was accepted as %v", name, value, got)
		}
	}
	if plainNumber.MatchString(core) {
		n, _ := strconv.ParseFloat(core, 64)
		if want := time.Duration(n * float64(unit)); got != want {
			t.Fatalf("%s=%q = %v, want %v", name, value, got, want)
		}
	}
}
