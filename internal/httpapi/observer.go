package httpapi

import "time"

// Observer hears what the HTTP layer serves and decides, for metrics.
// Arguments are bounded: route names, methods, statuses and fixed result
// words, never ids or paths.
type Observer interface {
	RequestStarted()
	RequestFinished(route, method string, status int, d time.Duration)
	RateLimited(kind string)
	Shed()
	AuthFailed(reason string)
	AnonymousCall(route string)
	Registration(result string)
	CaptchaAttempt(result string)
	Draw(result string, entrants int64, d time.Duration)
	Redraw(result string)
}

type nopObserver struct{}

func (nopObserver) RequestStarted()                                    {}
func (nopObserver) RequestFinished(string, string, int, time.Duration) {}
func (nopObserver) RateLimited(string)                                 {}
func (nopObserver) Shed()                                              {}
func (nopObserver) AuthFailed(string)                                  {}
func (nopObserver) AnonymousCall(string)                               {}
func (nopObserver) Registration(string)                                {}
func (nopObserver) CaptchaAttempt(string)                              {}
func (nopObserver) Draw(string, int64, time.Duration)                  {}
func (nopObserver) Redraw(string)                                      {}
