package store

import (
	"context"
	"time"
)

// RememberSignature records a signed request's signature until now+ttl and
// reports whether it was new. The primary key settles races: of two
// replicas seeing the same signature at once, one inserts and the other
// finds it. An expired row is taken over, as if it were new.
func (s *Store) RememberSignature(ctx context.Context, signature string, ttl time.Duration) (bool, error) {
	now := time.Now().UTC()
	var inserted []string
	err := s.db.NewRaw(`INSERT INTO request_signatures (signature, expires_at) VALUES (?, ?)
		ON CONFLICT (signature) DO UPDATE SET expires_at = excluded.expires_at
		WHERE request_signatures.expires_at <= ?
		RETURNING signature`, signature, now.Add(ttl), now).Scan(ctx, &inserted)
	if err != nil {
		return false, wrap("remember a request signature", err)
	}
	return len(inserted) == 1, nil
}

// DeleteExpiredSignatures deletes up to limit signatures whose time has
// passed and reports how many it deleted.
func (s *Store) DeleteExpiredSignatures(ctx context.Context, limit int) (int, error) {
	skip := ""
	if s.postgres {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM request_signatures WHERE signature IN (
		SELECT signature FROM request_signatures WHERE expires_at < ? LIMIT ?`+skip+`)`, time.Now().UTC(), limit)
	if err != nil {
		return 0, wrap("delete expired request signatures", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
