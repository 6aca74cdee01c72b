package config

// Redis holds the cache and rate-limit store settings. An empty URL selects
// the in-process equivalents.
type Redis struct {
	URL        string   `env:"REDIS_URL"`
	Addrs      []string `env:"REDIS_ADDRS" envSeparator:","`
	MasterName string   `env:"REDIS_MASTER_NAME"`
	Cluster    bool     `env:"REDIS_CLUSTER" envDefault:"false"`
	Required   bool     `env:"REDIS_REQUIRED" envDefault:"false"`
	Timeout    Seconds  `env:"REDIS_TIMEOUT" envDefault:"0.5"`
	Pool       int      `env:"REDIS_POOL_SIZE" want:"a whole number, 0 (the go-redis default) or more"` // unset: derived, see deriveDefaults
	CacheTTL   Seconds  `env:"REDIS_CACHE_TTL" envDefault:"300"`
	KeyPrefix  string   `env:"REDIS_KEY_PREFIX" envDefault:"participant-service:"`
}
