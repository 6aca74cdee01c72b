package config

import (
	"net/url"
)

// Database holds the storage settings. An empty URL selects the embedded
// SQLite database in SQLitePath.
type Database struct {
	PostgresURL string  `env:"DATABASE_URL"`
	SQLitePath  string  `env:"SQLITE_PATH" envDefault:"./data/participant.db"`
	PoolSize    int     `env:"DATABASE_POOL_SIZE" envDefault:"20" want:"a whole number, at least 1"`
	PoolTimeout Seconds `env:"DATABASE_POOL_TIMEOUT" envDefault:"30"`
	PoolRecycle Seconds `env:"DATABASE_POOL_RECYCLE" envDefault:"3600"`
	// ReadTimeout bounds the wait for one answer from Postgres.
	ReadTimeout    Seconds `env:"DATABASE_READ_TIMEOUT" envDefault:"300"`
	MigrateOnStart bool    `env:"MIGRATE_ON_START" envDefault:"true"`
	// ReplicaURL is an optional hot standby of DATABASE_URL's database
	// (a CloudNativePG <cluster>-ro Service) for the public read-only
	// endpoints whose answers may be a little stale. Empty: every query
	// goes to DATABASE_URL.
	ReplicaURL string `env:"DATABASE_READ_URL"`
	// ReplicaMaxLag is the most those reads may lag the primary; beyond
	// it, and while the replica is down, they go to the primary.
	ReplicaMaxLag Seconds `env:"DATABASE_READ_MAX_LAG" envDefault:"5"`
	// ReplicaPoolSize bounds the connections to the replica, which are
	// not pooled by PgBouncer (see docs/scale-out.md).
	ReplicaPoolSize int `env:"DATABASE_READ_POOL_SIZE" envDefault:"10" want:"a whole number, at least 1"`
	// ReplicaCheckInterval is how often the replica's lag is measured.
	ReplicaCheckInterval Seconds `env:"DATABASE_READ_CHECK_INTERVAL" envDefault:"1"`
}

// LoadDatabase reads the database settings alone from environ, with Load's
// defaults and refusals, for a tool that opens the database and nothing
// else: the service's other settings, even wrong ones, do not stop it.
func LoadDatabase(environ []string) (Database, error) {
	var db Database
	vars, err := parse(environ, &db)
	if err != nil {
		return Database{}, err
	}
	r := &refusals{vars: vars}
	db.validate(r)
	if err := r.err(); err != nil {
		return Database{}, err
	}
	return db, nil
}

func (d Database) validate(r *refusals) {
	r.want(d.PoolSize >= 1, "DATABASE_POOL_SIZE")
	r.want(d.PoolTimeout > 0, "DATABASE_POOL_TIMEOUT")
	r.want(d.PoolRecycle > 0, "DATABASE_POOL_RECYCLE")
	r.want(d.ReadTimeout > 0, "DATABASE_READ_TIMEOUT")
	r.check(d.PostgresURL != "" || d.SQLitePath != "", "SQLITE_PATH", "must not be empty when DATABASE_URL is unset")
	// URLs may hold credentials: their refusals do not quote them.
	if d.PostgresURL != "" {
		u, err := url.Parse(d.PostgresURL)
		r.check(err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql"), "DATABASE_URL",
			"must be a postgres:// or postgresql:// URL")
	}
	if d.ReplicaURL != "" {
		u, err := url.Parse(d.ReplicaURL)
		r.check(err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql"), "DATABASE_READ_URL",
			"must be a postgres:// or postgresql:// URL")
		r.check(d.PostgresURL != "", "DATABASE_READ_URL", "needs DATABASE_URL: the embedded SQLite database has no replicas")
	}
	r.want(d.ReplicaMaxLag > 0, "DATABASE_READ_MAX_LAG")
	r.want(d.ReplicaPoolSize >= 1, "DATABASE_READ_POOL_SIZE")
	// A lag measured less often than the bound makes the replica look
	// stale between two measurements.
	r.wantf(d.ReplicaCheckInterval > 0 && (d.ReplicaMaxLag <= 0 || d.ReplicaCheckInterval < d.ReplicaMaxLag), "DATABASE_READ_CHECK_INTERVAL",
		"%s, below DATABASE_READ_MAX_LAG (%v)", wantSeconds, d.ReplicaMaxLag.D())
}
