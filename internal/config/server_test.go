package config_test

import (
	"testing"

	"github.com/telegive/participant-service/internal/config"
)

// TestDerivedPoolDefaults: unset, MAX_IN_FLIGHT follows DATABASE_POOL_SIZE,
// and REDIS_POOL_SIZE and HTTP_MAX_CONNECTIONS follow MAX_IN_FLIGHT; a
// value given, even 0, is kept as given.
func TestDerivedPoolDefaults(t *testing.T) {
	cases := []struct {
		name                string
		environ             []string
		inFlight, redisPool int
		conns               int
	}{
		{"defaults", nil, 160, 160, 512},
		{"from the database pool", []string{"DATABASE_POOL_SIZE=5"}, 40, 40, 512},
		{"empty is unset", []string{"MAX_IN_FLIGHT=", "REDIS_POOL_SIZE=", "HTTP_MAX_CONNECTIONS="}, 160, 160, 512},
		{"in-flight given", []string{"MAX_IN_FLIGHT=300"}, 300, 300, 600},
		{"unbounded keeps the go-redis pool", []string{"MAX_IN_FLIGHT=0"}, 0, 0, 512},
		{"redis pool given", []string{"REDIS_POOL_SIZE=12"}, 160, 12, 512},
		{"go-redis pool asked for", []string{"REDIS_POOL_SIZE=0", "DATABASE_POOL_SIZE=50"}, 400, 0, 800},
		{"connections given", []string{"HTTP_MAX_CONNECTIONS=100", "MAX_IN_FLIGHT=300"}, 300, 300, 100},
		{"connections unbounded", []string{"HTTP_MAX_CONNECTIONS=0"}, 160, 160, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(tc.environ)
			if err != nil {
				t.Fatal(err)
			}
			if c.MaxInFlight != tc.inFlight || c.Redis.Pool != tc.redisPool || c.HTTPMaxConnections != tc.conns {
				t.Errorf("MAX_IN_FLIGHT = %d, REDIS_POOL_SIZE = %d, HTTP_MAX_CONNECTIONS = %d; want %d, %d, %d",
					c.MaxInFlight, c.Redis.Pool, c.HTTPMaxConnections, tc.inFlight, tc.redisPool, tc.conns)
			}
		})
	}
}
