package httpapi

import "context"

type routeKey struct{}

// withRoute gives inner middleware a slot to report the matched route to
// outer middleware, which runs before routing.
func withRoute(ctx context.Context, slot *string) context.Context {
	return context.WithValue(ctx, routeKey{}, slot)
}

func routeSlot(ctx context.Context) *string {
	p, _ := ctx.Value(routeKey{}).(*string)
	return p
}
