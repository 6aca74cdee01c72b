package config

// Captcha holds the rules of the math captcha.
type Captcha struct {
	// ChallengeTimeout is a challenge's lifetime.
	ChallengeTimeout Minutes `env:"CAPTCHA_TIMEOUT_MINUTES" envDefault:"10"`
	MaxAttempts      int     `env:"CAPTCHA_MAX_ATTEMPTS" envDefault:"3" want:"a whole number 1..100"`
	MinNumber        int     `env:"CAPTCHA_MIN_NUMBER" envDefault:"1" want:"a whole number, at least 1"`
	MaxNumber        int     `env:"CAPTCHA_MAX_NUMBER" envDefault:"10" want:"a whole number above CAPTCHA_MIN_NUMBER, at most 1000"`
	// PerHour is how many fresh challenges a user gets in an hour.
	PerHour int `env:"CAPTCHA_MAX_CHALLENGES_PER_HOUR" envDefault:"5" want:"a whole number, at least 1"`
}

func (c Captcha) validate(r *refusals) {
	r.want(c.MaxAttempts >= 1 && c.MaxAttempts <= 100, "CAPTCHA_MAX_ATTEMPTS")
	r.want(c.MinNumber >= 1, "CAPTCHA_MIN_NUMBER")
	r.wantf(c.MaxNumber > c.MinNumber && c.MaxNumber <= 1000, "CAPTCHA_MAX_NUMBER",
		"a whole number above CAPTCHA_MIN_NUMBER (%d), at most 1000", c.MinNumber)
	r.want(c.PerHour >= 1, "CAPTCHA_MAX_CHALLENGES_PER_HOUR")
	r.want(c.ChallengeTimeout > 0, "CAPTCHA_TIMEOUT_MINUTES")
}
