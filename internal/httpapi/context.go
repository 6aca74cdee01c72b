package httpapi

import (
	"context"
	"time"

	"github.com/telegive/participant-service/internal/participant"
)

// requestInfo is what the handlers learn about a request that the request
// log, which runs before routing, writes down: which route served it, who
// called, and why it failed.
type requestInfo struct {
	route, template string // the route's name and path template
	caller          string // the authenticated caller's name, or "anonymous"
	errorCode       participant.Code
	errorMessage    string
}

type requestInfoKey struct{}

// withRequestInfo gives inner middleware and handlers a slot to report to
// outer middleware.
func withRequestInfo(ctx context.Context, info *requestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// infoOf is the request's slot, or a scratch one when the request did not
// pass through the request log (tests that call a middleware alone).
func infoOf(ctx context.Context) *requestInfo {
	if p, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return p
	}
	return &requestInfo{}
}

type beaconDeadlineKey struct{}

// BeaconDeadline returns when a wait for a drand beacon round within this
// request must give up, so that the caller still hears BEACON_UNAVAILABLE
// before its own timeout: Options.BeaconWait after the start of
// select-winners or redraw. Other requests have none.
func BeaconDeadline(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(beaconDeadlineKey{}).(time.Time)
	return t, ok
}
