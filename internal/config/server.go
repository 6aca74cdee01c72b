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
