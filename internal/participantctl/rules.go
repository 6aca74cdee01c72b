package participantctl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gowebpki/jcs"

	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/draw"
)

// servedRules is a giveaway's rules document as the service served it, or
// as a file holds it: raw are the bytes of the rules object.
type servedRules struct {
	// from says where the rules came from, for the output.
	from string
	raw  []byte
	// answer is the service's answer around raw; nil for a file that holds
	// the rules object alone.
	answer *api.RulesResponse
}

// ruleSet is a rules document read member by member: the rules this tool
// knows, and the names of those it does not.
type ruleSet struct {
	rules   api.Rules
	unknown []string
}

// rulesVerdict is what verify-draw found of the giveaway's rules.
type rulesVerdict struct {
	// ok is the passed check, "" when the rules were not checked.
	ok string
	// notes are what could not be checked; each makes the draw not fully
	// verified.
	notes []string
	// words describe the rules, one line each.
	words []string
	// set is the rules the record commits to, when they were checked.
	set *ruleSet
}

// readRulesFile reads a giveaway's rules from a file: the answer of GET
// /api/participants/{giveaway_id}/rules, or the rules object alone.
func readRulesFile(file string) (*servedRules, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var answer api.RulesResponse
	if err := json.Unmarshal(data, &answer); err == nil && answer.Rules != nil {
		return &servedRules{from: file, raw: answer.Rules, answer: &answer}, nil
	}
	return &servedRules{from: file, raw: bytes.TrimSpace(data)}, nil
}

// fetchRules gets the giveaway's rules from the service. A service that
// cannot serve them is no reason to stop: the verdict then says that the
// rules were not checked.
func fetchRules(ctx context.Context, c *client.Client, giveawayID int64) (*servedRules, error) {
	answer, err := c.Rules(ctx, giveawayID)
	if err != nil {
		return nil, err
	}
	return &servedRules{from: "the service", raw: answer.Rules, answer: &answer}, nil
}

// checkRules checks the rules served against the record's rules_sha256
// and describes them. A contradiction is a failure; rules that could not
// be had, or that hold members this tool does not know, are notes.
func checkRules(rec draw.Record, served *servedRules, fetchErr error) (rulesVerdict, *failure) {
	var v rulesVerdict
	if rec.RulesSHA256 == nil {
		v.ok = "rules (none committed: rules_sha256 is null, so the giveaway ran on the service's default rules)"
		if served != nil && served.answer != nil {
			if served.answer.Custom {
				return v, failedf("rules", "the record commits to no rules, but %s serves rules set for giveaway %d (sha256 %s)",
					served.from, rec.GiveawayID, served.answer.RulesSHA256)
			}
			if set, err := readRules(served.raw); err == nil {
				v.words = append([]string{"the defaults, as " + served.from + " serves them (nothing in the record commits to them):"}, set.words()...)
			}
		}
		return v, nil
	}
	want := rec.RulesSHA256.String()
	switch {
	case fetchErr != nil:
		v.notes = append(v.notes, fmt.Sprintf("rules: the record commits to rules with sha256 %s, but the service's rules could not be fetched (%s), so what they say was not checked",
			want, oneLine(fetchErr.Error())))
		return v, nil
	case served == nil:
		v.notes = append(v.notes, fmt.Sprintf("rules: the record commits to rules with sha256 %s, but a record file holds no rules; give --rules FILE (the answer of GET /api/participants/%d/rules) or verify against the service URL",
			want, rec.GiveawayID))
		return v, nil
	}
	got := sha256Hex(served.raw)
	how := "the rules as served hash to the record's rules_sha256"
	if got != want {
		// A rules file may have been reformatted since it was served; its
		// RFC 8785 form is what was hashed.
		canon, err := jcs.Transform(served.raw)
		if err != nil || sha256Hex(canon) != want {
			return v, failedf("rules", "the rules from %s hash to %s, but the record commits to %s", served.from, got, want)
		}
		how = "the rules, in their RFC 8785 form, hash to the record's rules_sha256"
	}
	if a := served.answer; a != nil && a.RulesSHA256 != "" && a.RulesSHA256 != want {
		return v, failedf("rules", "%s serves the rules with rules_sha256 %s, but they hash to the record's %s", served.from, a.RulesSHA256, want)
	}
	set, err := readRules(served.raw)
	if err != nil {
		return v, failedf("rules", "the committed rules are not a rules document: %v", err)
	}
	if uint64(set.rules.MaxTickets) != rec.MaxTickets {
		return v, failedf("rules", "the committed rules allow %d ticket(s) per entrant, the record's max_tickets is %d", set.rules.MaxTickets, rec.MaxTickets)
	}
	v.ok = fmt.Sprintf("rules (%s; from %s)", how, served.from)
	v.words = set.words()
	v.set = &set
	if len(set.unknown) > 0 {
		v.notes = append(v.notes, fmt.Sprintf("rules: the committed rules hold %s, which this tool does not know, so what they ask was not checked",
			strings.Join(set.unknown, ", ")))
	}
	return v, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// readRules reads a rules document member by member: each known rule must
// have its type, and every rule must be there; the names of members it
// does not know are kept.
func readRules(raw []byte) (ruleSet, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return ruleSet{}, fmt.Errorf("not a JSON object")
	}
	var s ruleSet
	r := &s.rules
	fields := []struct {
		name string
		dst  any
	}{
		{"exclude_admins", &r.ExcludeAdmins}, {"max_tickets", &r.MaxTickets}, {"min_account_age_days", &r.MinAccountAgeDays},
		{"premium_only", &r.PremiumOnly}, {"recheck_at_draw", &r.RecheckAtDraw}, {"referral_bonus", &r.ReferralBonus},
		{"required_chats", &r.RequiredChats},
	}
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[f.name] = true
		m, ok := members[f.name]
		if !ok {
			return ruleSet{}, fmt.Errorf("%s is missing", f.name)
		}
		if bytes.Equal(bytes.TrimSpace(m), []byte("null")) {
			return ruleSet{}, fmt.Errorf("%s is null", f.name)
		}
		if err := json.Unmarshal(m, f.dst); err != nil {
			return ruleSet{}, fmt.Errorf("%s: %s", f.name, m)
		}
	}
	for name := range members {
		if !known[name] {
			s.unknown = append(s.unknown, name)
		}
	}
	slices.Sort(s.unknown)
	return s, nil
}

// words says what each rule asks, in the order the page shows them.
func (s ruleSet) words() []string {
	r := s.rules
	var out []string
	if len(r.RequiredChats) == 0 {
		out = append(out, "required chats: the giveaway account's channel")
	} else {
		out = append(out, "required chats: "+strings.Join(r.RequiredChats, ", "))
	}
	if r.ExcludeAdmins {
		out = append(out, "admins excluded: yes, the chats' administrators and creators cannot win")
	} else {
		out = append(out, "admins excluded: no, administrators may enter")
	}
	if r.PremiumOnly {
		out = append(out, "premium only: yes, Telegram Premium users only")
	} else {
		out = append(out, "premium only: no")
	}
	if r.MinAccountAgeDays == 0 {
		out = append(out, "minimum account age: none")
	} else {
		out = append(out, fmt.Sprintf("minimum account age: %d day(s), as estimated from the user id", r.MinAccountAgeDays))
	}
	out = append(out, fmt.Sprintf("max tickets: %d per entrant", r.MaxTickets))
	if r.ReferralBonus == 0 {
		out = append(out, "referral bonus: none")
	} else {
		out = append(out, fmt.Sprintf("referral bonus: %d ticket(s) per invited friend who entered", r.ReferralBonus))
	}
	if r.RecheckAtDraw {
		out = append(out, "re-check at draw: yes, the winners are checked against these rules again when drawn")
	} else {
		out = append(out, "re-check at draw: no")
	}
	for _, name := range s.unknown {
		out = append(out, name+": a rule this tool does not know")
	}
	return out
}
