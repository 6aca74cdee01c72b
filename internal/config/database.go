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
}
