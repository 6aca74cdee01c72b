package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/telegive/participant-service/internal/participant"
)

// wrap names the failed operation and, when the failure is the database
// being out of reach rather than a fault of the request, marks it
// participant.ErrUnavailable, which callers are told as 503 with a short
// Retry-After instead of 500.
func wrap(what string, err error) error {
	if unreachable(err) {
		return fmt.Errorf("store: %s: %w: %w", what, participant.ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// unreachable reports whether err says the database could not be reached
// or dropped the connection, as when it restarts.
func unreachable(err error) bool {
	var (
		netErr net.Error
		pgErr  pgdriver.Error
	)
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return true
	case errors.As(err, &pgErr):
		code := pgErr.Field('C')
		// Class 08 is connection exceptions; 57P01-57P03 an administrator
		// shutting the server down or it starting; 53300 too many
		// connections.
		return len(code) == 5 && (code[:2] == "08" || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300")
	}
	return false
}
