package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
)

// Addr is the listen address of the API server.
func (c Config) Addr() string {
	return fmt.Sprintf("%s:%d", c.ListenHost, c.ServicePort)
}

// MetricsAddr is the listen address of the metrics server.
func (c Config) MetricsAddr() string {
	return fmt.Sprintf("%s:%d", c.ListenHost, c.MetricsPort)
}

// TrustedProxyPrefixes parses TRUSTED_PROXIES: addresses or CIDR
// prefixes of the proxies allowed to set X-Forwarded-For.
func (c Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR prefix", s)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR prefix", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func portVar(c Config) string {
	if c.Port != 0 {
		return "PORT"
	}
	return "SERVICE_PORT"
}

func validPort(p int) bool { return p >= 1 && p <= 65535 }

// validOrigin reports whether s is a browser origin: http or https, a host
// and an optional port, nothing else.
func validOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != "" &&
		u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery &&
		!strings.ContainsFunc(s, unicode.IsSpace) && s == u.Scheme+"://"+u.Host
}

func trimAll(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.TrimSuffix(s, "/"))
		}
	}
	return out
}

// inFlightPerConnection is how many API requests the default MAX_IN_FLIGHT
// admits per database connection. A registration holds a connection for a
// few milliseconds and spends about as long again outside it (parsing,
// authentication, two rate-limit round trips to Redis, the answer), so a
// few requests per connection keep the pool busy; every request admitted
// beyond that only waits for a connection, holding a goroutine, its
// buffers and its caller's connection, which under a spike is most of the
// process's memory; a 503 with Retry-After at once lets its caller back
// off instead (docs/burst.md, "Spike memory"). Deployments whose requests
// wait on slow upstream checks rather than on the database set
// MAX_IN_FLIGHT higher.
const inFlightPerConnection = 8

// deriveDefaults fills the settings whose defaults follow from others,
// when their variables are unset (or empty) in set: MAX_IN_FLIGHT from
// DATABASE_POOL_SIZE, REDIS_POOL_SIZE from MAX_IN_FLIGHT, so that a
// request admitted never waits for a Redis connection while the limits
// are charged, and HTTP_MAX_CONNECTIONS from MAX_IN_FLIGHT. An unbounded
// MAX_IN_FLIGHT keeps go-redis's own pool size.
func (c *Config) deriveDefaults(set map[string]string) {
	if set["MAX_IN_FLIGHT"] == "" && c.Database.PoolSize > 0 {
		c.MaxInFlight = inFlightPerConnection * c.Database.PoolSize
	}
	if set["REDIS_POOL_SIZE"] == "" {
		c.Redis.Pool = max(c.MaxInFlight, 0)
	}
	if set["HTTP_MAX_CONNECTIONS"] == "" {
		c.HTTPMaxConnections = max(minMaxConnections, connectionsPerInFlight*c.MaxInFlight)
	}
}

// minMaxConnections and connectionsPerInFlight derive HTTP_MAX_CONNECTIONS:
// the API connections one process holds at most. Each holds about 40 KiB
// while open; 512 kept a process under 90 MiB in a spike three times what
// it could serve (docs/burst.md, "Connections"), and twice MAX_IN_FLIGHT
// leaves each request admitted a connection and as many again idle.
const (
	minMaxConnections      = 512
	connectionsPerInFlight = 2
)
