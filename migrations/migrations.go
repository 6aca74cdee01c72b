// Package migrations holds the database schema as embedded SQL files, one
// set per dialect, in the form bun's migrator reads. Files are named
// <timestamp>_<name>.tx.up.sql so that each runs in a transaction.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"

	"github.com/uptrace/bun/migrate"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres returns the migrations for PostgreSQL.
func Postgres() (*migrate.Migrations, error) { return load("postgres") }

// SQLite returns the migrations for the embedded SQLite database.
func SQLite() (*migrate.Migrations, error) { return load("sqlite") }

func load(dir string) (*migrate.Migrations, error) {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		return nil, err
	}
	m := migrate.NewMigrations()
	if err := m.Discover(sub); err != nil {
		return nil, fmt.Errorf("migrations: %s: %w", dir, err)
	}
	return m, nil
}
