package config

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// Seconds is a duration given as a whole number of seconds ("30"), as the
// earlier deployments did, or as a Go duration ("30s", "1m").
type Seconds time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Seconds) UnmarshalText(b []byte) error {
	d, err := parseDuration(string(b), time.Second)
	*s = Seconds(d)
	return err
}

// D returns the value as a time.Duration.
func (s Seconds) D() time.Duration { return time.Duration(s) }

// Minutes is a duration given as a whole number of minutes, or a Go duration.
type Minutes time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Minutes) UnmarshalText(b []byte) error {
	d, err := parseDuration(string(b), time.Minute)
	*m = Minutes(d)
	return err
}

// D returns the value as a time.Duration.
func (m Minutes) D() time.Duration { return time.Duration(m) }

func parseDuration(s string, unit time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		// NaN, Inf and anything past about 292 years do not fit a
		// duration, and converting them is undefined across platforms.
		if !(n*float64(unit) < math.MaxInt64) {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return time.Duration(n * float64(unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a number nor a duration such as 30s", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// RateLimit is a request budget such as "1000 per hour". The units second,
// minute, hour and day are understood, with or without a plural s, and "/"
// may stand for "per".
type RateLimit struct {
	Requests int
	Period   time.Duration
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *RateLimit) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	s = strings.Replace(s, "/", " per ", 1)
	fields := strings.Fields(s)
	if len(fields) != 3 || fields[1] != "per" {
		return fmt.Errorf("%q: want a limit such as \"1000 per hour\"", string(b))
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n < 1 {
		return fmt.Errorf("%q: the request count must be a positive integer", string(b))
	}
	periods := map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	p, ok := periods[strings.TrimSuffix(fields[2], "s")]
	if !ok {
		return fmt.Errorf("%q: the period must be second, minute, hour or day", string(b))
	}
	*r = RateLimit{Requests: n, Period: p}
	return nil
}

// String formats the limit the way it is configured.
func (r RateLimit) String() string {
	names := map[time.Duration]string{time.Second: "second", time.Minute: "minute", time.Hour: "hour", 24 * time.Hour: "day"}
	return fmt.Sprintf("%d per %s", r.Requests, names[r.Period])
}

// LogLevel is a slog level; the Python-era names (WARNING, CRITICAL) are
// accepted too.
type LogLevel slog.Level

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *LogLevel) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "debug":
		*l = LogLevel(slog.LevelDebug)
	case "info", "":
		*l = LogLevel(slog.LevelInfo)
	case "warn", "warning":
		*l = LogLevel(slog.LevelWarn)
	case "error", "critical", "fatal":
		*l = LogLevel(slog.LevelError)
	default:
		return fmt.Errorf("%q: want debug, info, warn or error", string(b))
	}
	return nil
}

// Level returns the slog level.
func (l LogLevel) Level() slog.Level { return slog.Level(l) }
