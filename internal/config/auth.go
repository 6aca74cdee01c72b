package config

// Auth holds inbound authentication. Tokens come as name:token pairs; the
// name is the caller (bot, giveaway or admin) and decides its scopes.
type Auth struct {
	// Mode is required, permissive or off; empty means required when any
	// token is configured and permissive otherwise.
	Mode              string  `env:"AUTH_MODE"`
	Tokens            string  `env:"SERVICE_TOKENS"`
	TokensFile        string  `env:"SERVICE_TOKENS_FILE"`
	LegacySecret      string  `env:"SERVICE_TO_SERVICE_SECRET"`
	RequireSignatures bool    `env:"REQUIRE_SIGNATURES" envDefault:"false"`
	SignatureWindow   Seconds `env:"SIGNATURE_WINDOW" envDefault:"300"`
}

// Ctl holds what participantctl's client commands read from the
// environment.
type Ctl struct {
	// ServiceToken is the X-Service-Token they send; --token overrides it.
	ServiceToken string `env:"PARTICIPANT_SERVICE_TOKEN"`
}

// LoadCtl reads participantctl's settings from environ.
func LoadCtl(environ []string) (Ctl, error) {
	var ctl Ctl
	if _, err := parse(environ, &ctl); err != nil {
		return Ctl{}, err
	}
	return ctl, nil
}
