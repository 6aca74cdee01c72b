package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/draw"
)

// TestRecheckOverHTTP: a v2 giveaway whose rules (set by PUT, so
// recheck_at_draw is true) require no chat has its winners re-checked:
// select-winners answers the recheck object, its final winners the
// current ones, and the record's recheck; a giveaway without rules
// answers no recheck at all. Both answers hold to the OpenAPI
// description, which the harness checks.
func TestRecheckOverHTTP(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h, _ := newV2Harness(t, backend, true, 0, 3*time.Second)
		const withRules, without = 91, 92
		set := rulesOf(t, h.do("PUT", fmt.Sprintf("/api/participants/%d/rules", withRules), map[string]any{"max_tickets": 1}))
		if r, err := set.Decode(); err != nil || !r.RecheckAtDraw {
			t.Fatalf("rules set by PUT: %+v, %v; want recheck_at_draw true", r, err)
		}
		for _, gid := range []int64{withRules, without} {
			for u := int64(1); u <= 4; u++ {
				h.join(gid, 9000+u)
			}
		}
		r := h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", withRules), map[string]any{"winner_count": 2}).expect(t, http.StatusOK, "")
		var sel api.Selection
		if err := json.Unmarshal(r.raw, &sel); err != nil {
			t.Fatal(err)
		}
		rc := sel.Recheck
		var winners []int64
		for _, w := range sel.Winners {
			winners = append(winners, w.UserID)
		}
		if rc == nil || rc.Status != draw.RecheckComplete || !slices.Equal(rc.Final, winners) || len(winners) != 2 ||
			len(rc.Unchecked) != 0 || rc.Pending != nil || len(rc.Disqualified) != 0 {
			t.Fatalf("recheck: %s", r.raw)
		}
		if sel.Draw.Recheck == nil || len(sel.Draw.Recheck.Checked) != 2 || sel.Draw.Recheck.Status != draw.RecheckComplete {
			t.Fatalf("the record's recheck: %+v", sel.Draw.Recheck)
		}
		plain := h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", without), map[string]any{"winner_count": 2}).expect(t, http.StatusOK, "")
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(plain.raw, &fields); err != nil {
			t.Fatal(err)
		}
		if _, ok := fields["recheck"]; ok || record(t, plain).Recheck != nil {
			t.Fatalf("a giveaway without rules answers a recheck: %s", plain.raw)
		}
	})
}
