package app

import (
	"log/slog"
	"sync"
	"time"
)

// throttled logs a recurring failure at most once a minute.
func throttled(log *slog.Logger, msg string) func(error) {
	var (
		mu   sync.Mutex
		last time.Time
	)
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < time.Minute {
			return
		}
		last = time.Now()
		log.Warn(msg, "error", err)
	}
}
