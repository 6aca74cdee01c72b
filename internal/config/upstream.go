package config

import (
	"net/url"
)

// Upstreams holds the base URLs of the services this one calls, and how
// they are called. An empty URL switches the matching check off.
type Upstreams struct {
	AuthURL         string `env:"TELEGIVE_AUTH_URL"`
	ChannelURL      string `env:"TELEGIVE_CHANNEL_URL"`
	GiveawayURL     string `env:"TELEGIVE_GIVEAWAY_URL"`
	BotURL          string `env:"TELEGIVE_BOT_URL"`
	MediaURL        string `env:"TELEGIVE_MEDIA_URL"`
	TelegramAPIBase string `env:"TELEGRAM_API_BASE" envDefault:"https://api.telegram.org"`
	// ServiceToken is sent as X-Service-Token to the Telegive services.
	ServiceToken string `env:"AUTH_SERVICE_TOKEN"`
	// AttemptTimeout bounds each attempt of a call, and each health probe.
	AttemptTimeout  Seconds `env:"UPSTREAM_TIMEOUT" envDefault:"3"`
	Retries         int     `env:"UPSTREAM_RETRIES" envDefault:"2" want:"a whole number 0..10"`
	BreakerFailures int     `env:"UPSTREAM_BREAKER_FAILURES" envDefault:"5" want:"a whole number, at least 1"`
	BreakerOpen     Seconds `env:"UPSTREAM_BREAKER_OPEN" envDefault:"30"`
	ProbeInterval   Seconds `env:"UPSTREAM_PROBE_INTERVAL" envDefault:"30"`
}

// GiveawayChecks reports whether giveaway status is checked upstream.
func (c Config) GiveawayChecks() bool { return c.Upstreams.GiveawayURL != "" }

// SubscriptionLookups reports whether subscriptions can be looked up: the
// channel and auth services and the Telegram API are all configured.
func (c Config) SubscriptionLookups() bool {
	u := c.Upstreams
	return u.ChannelURL != "" && u.AuthURL != "" && u.TelegramAPIBase != ""
}

// validateURLs refuses a service URL that is not http or https.
func (u Upstreams) validateURLs(r *refusals) {
	for _, uv := range []struct{ name, value string }{
		{"TELEGIVE_AUTH_URL", u.AuthURL},
		{"TELEGIVE_CHANNEL_URL", u.ChannelURL},
		{"TELEGIVE_GIVEAWAY_URL", u.GiveawayURL},
		{"TELEGIVE_BOT_URL", u.BotURL},
		{"TELEGIVE_MEDIA_URL", u.MediaURL},
		{"TELEGRAM_API_BASE", u.TelegramAPIBase},
	} {
		if uv.value == "" {
			continue
		}
		pu, err := url.Parse(uv.value)
		r.check(err == nil && (pu.Scheme == "http" || pu.Scheme == "https") && pu.Host != "", uv.name,
			"must be an http:// or https:// URL")
	}
}
