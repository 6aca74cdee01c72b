package participant

import (
	"context"
	"errors"
)

// Pagination describes one page of a listing.
type Pagination struct {
	Page  int
	Limit int
	Total int64
	Pages int64
}

// Listing is one page of a giveaway's participants.
type Listing struct {
	Participants []Participant
	Stats        Stats
	Pagination   Pagination
}

// One rule for limit wherever it is taken: absent or 0 means the
// endpoint's default, a negative limit is refused. 0 must keep meaning the
// default because the giveaway service lists with limit=<total>, which is
// 0 for an empty giveaway. The listing lowers a limit above its maximum
// (it asks for everyone); history refuses one above MaxHistory.
const (
	// DefaultPageSize is the listing's page size when the caller gives none.
	DefaultPageSize = 50
	// DefaultHistory is the history's length when the caller gives none.
	DefaultHistory = 10
	// MaxHistory bounds a history request.
	MaxHistory = 100
)

// The rules of page and limit as callers are told them; they spell out
// DefaultPageSize, DefaultHistory and MaxHistory.
const (
	PageRule         = "page must be a positive integer"
	ListLimitRule    = "limit must be a non-negative integer (0 means 50)"
	HistoryLimitRule = "limit must be an integer from 0 to 100 (0 means 10)"
)

// List returns a page of participants in participant-id order. A limit
// of 0 means DefaultPageSize; one above the configured maximum is lowered
// to it (the pagination says so).
func (s *Service) List(ctx context.Context, giveawayID int64, page, limit int) (Listing, error) {
	var v Validation
	checkID(&v, "giveaway_id", giveawayID)
	if page < 1 {
		v.Add("page", CodeInvalidPage, PageRule)
	}
	if limit < 0 {
		v.Add("limit", CodeInvalidLimit, ListLimitRule)
	}
	if err := v.Err(); err != nil {
		return Listing{}, err
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, s.opts.ListMaxLimit)
	stats, err := s.store.Stats(ctx, giveawayID)
	if err != nil {
		return Listing{}, err
	}
	ps := []Participant{}
	pages := (stats.Total + int64(limit) - 1) / int64(limit)
	// Compare pages, not offsets: (page-1)*limit overflows for huge pages
	// and would wrap round to the first page.
	if int64(page) <= pages {
		if ps, err = s.store.ListParticipants(ctx, giveawayID, (page-1)*limit, limit); err != nil {
			return Listing{}, err
		}
	}
	return Listing{
		Participants: ps,
		Stats:        stats,
		Pagination:   Pagination{Page: page, Limit: limit, Total: stats.Total, Pages: pages},
	}, nil
}

// Export streams every participant of a giveaway to fn in participant-id
// order, batch by batch, so memory stays constant however large the
// giveaway is.
func (s *Service) Export(ctx context.Context, giveawayID int64, batch int, fn func(Participant) error) error {
	if !ValidID(giveawayID) {
		return invalidID("giveaway_id")
	}
	var after int64
	for {
		ps, err := s.store.ParticipantsAfter(ctx, giveawayID, after, batch)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := fn(p); err != nil {
				return err
			}
		}
		if len(ps) < batch {
			return nil
		}
		after = ps[len(ps)-1].ID
	}
}

// Count returns the number of participants of a giveaway.
func (s *Service) Count(ctx context.Context, giveawayID int64) (int64, error) {
	if !ValidID(giveawayID) {
		return 0, invalidID("giveaway_id")
	}
	return s.store.Count(ctx, giveawayID)
}

// Stats returns the participation statistics of a giveaway.
func (s *Service) Stats(ctx context.Context, giveawayID int64) (Stats, error) {
	if !ValidID(giveawayID) {
		return Stats{}, invalidID("giveaway_id")
	}
	return s.store.Stats(ctx, giveawayID)
}

// Winners returns the current winners of a giveaway with its draw; before
// the draw both are empty.
func (s *Service) Winners(ctx context.Context, giveawayID int64) ([]Winner, *Draw, error) {
	if !ValidID(giveawayID) {
		return nil, nil, invalidID("giveaway_id")
	}
	d, err := s.store.Draw(ctx, giveawayID)
	if errors.Is(err, ErrNotFound) || err == nil && d.Status != DrawDrawn {
		return []Winner{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ws, err := s.store.Winners(ctx, giveawayID)
	return ws, &d, err
}

// History returns a user's totals and most recent participations, at
// most limit of them; a limit of 0 means DefaultHistory.
func (s *Service) History(ctx context.Context, userID int64, limit int) (User, []HistoryEntry, error) {
	var v Validation
	checkID(&v, "user_id", userID)
	if limit < 0 || limit > MaxHistory {
		v.Add("limit", CodeInvalidLimit, HistoryLimitRule)
	}
	if err := v.Err(); err != nil {
		return User{}, nil, err
	}
	if limit == 0 {
		limit = DefaultHistory
	}
	u, err := s.CaptchaStatus(ctx, userID)
	if err != nil {
		return User{}, nil, err
	}
	hs, err := s.store.History(ctx, userID, limit)
	return u, hs, err
}
