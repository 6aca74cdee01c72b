package config_test

import (
	"testing"

	"github.com/telegive/participant-service/internal/config"
)

// TestDerivedPoolDefaults: unset, MAX_IN_FLIGHT follows DATABASE_POOL_SIZE
// and REDIS_POOL_SIZE follows MAX_IN_FLIGHT; a value given, even 0, is
// kept as given.
func TestDerivedPoolDefaults(t *testing.T) {
	cases := []struct {
		name                string
		environ             []string
		inFlight, redisPool int
	}{
		{"defaults", nil, 160, 160},
		{"from the database pool", []string{"DATABASE_POOL_SIZE=5"}, 40, 40},
		{"empty is unset", []string{"MAX_IN_FLIGHT=", "REDIS_POOL_SIZE="}, 160, 160},
		{"in-flight given", []string{"MAX_IN_FLIGHT=300"}, 300, 300},
		{"unbounded keeps the go-redis pool", []string{"MAX_IN_FLIGHT=0"}, 0, 0},
		{"redis pool given", []string{"REDIS_POOL_SIZE=12"}, 160, 12},
		{"go-redis pool asked for", []string{"REDIS_POOL_SIZE=0", "DATABASE_POOL_SIZE=50"}, 400, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(tc.environ)
			if err != nil {
				t.Fatal(err)
			}
			if c.MaxInFlight != tc.inFlight || c.Redis.Pool != tc.redisPool {
				t.Errorf("MAX_IN_FLIGHT = %d, REDIS_POOL_SIZE = %d; want %d, %d", c.MaxInFlight, c.Redis.Pool, tc.inFlight, tc.redisPool)
			}
		})
	}
}
