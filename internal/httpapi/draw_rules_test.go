package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// TestV2RecordCommitsTheRulesOverHTTP: rules PUT before the commit are
// in the committed v2 record as the rules_sha256 GET /rules serves, with
// their max_tickets; a giveaway without rules has rules_sha256 null. Both
// answers hold to the OpenAPI description.
func TestV2RecordCommitsTheRulesOverHTTP(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h, _ := newV2Harness(t, backend, true, 0, 5*time.Second)
		const withRules, without = 81, 82
		rulesOf(t, h.do("PUT", fmt.Sprintf("/api/participants/%d/rules", withRules), map[string]any{"max_tickets": 7}))
		for _, gid := range []int64{withRules, without} {
			h.do("POST", fmt.Sprintf("/api/participants/%d/draw/commit", gid), nil).expect(t, http.StatusOK, "")
		}
		served := rulesOf(t, h.do("GET", fmt.Sprintf("/api/participants/%d/rules", withRules), nil))
		rec := record(t, h.do("GET", fmt.Sprintf("/api/participants/%d/draw", withRules), nil).expect(t, http.StatusOK, ""))
		if !served.Locked || rec.Status != draw.StatusCommitted || rec.RulesSHA256 == nil || rec.RulesSHA256.String() != served.RulesSHA256 || rec.MaxTickets != 7 {
			t.Fatalf("committed record has rules %v, max_tickets %d; GET /rules serves %s (locked %v)", rec.RulesSHA256, rec.MaxTickets, served.RulesSHA256, served.Locked)
		}
		plain := h.do("GET", fmt.Sprintf("/api/participants/%d/draw", without), nil).expect(t, http.StatusOK, "")
		if rec := record(t, plain); rec.RulesSHA256 != nil || rec.MaxTickets != 1 {
			t.Fatalf("a giveaway without rules: %s", plain.raw)
		}
	})
}
