package draw_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/telegive/participant-service/pkg/draw"
)

var allV2Checks = []string{"version", "status", "commitment", "chain", "timing", "beacon_round", "beacon", "attestation",
	"total_tickets", "entrants", "draw_seed", "winners", "replacements", "proof", "log"}

func skipChecks(s []draw.Skip) []string {
	out := []string{}
	for _, k := range s {
		out = append(out, k.Check)
	}
	return out
}

func TestVerifyV2Accepts(t *testing.T) {
	b := v2Fixture(t)
	r := b.record
	if n := len(r.Replacements); n != 2 || !r.Replacements[1].Replacements[2].Empty() {
		t.Fatalf("fixture changed: %d rounds, last %+v", n, r.Replacements[n-1].Replacements)
	}
	opts := b.opts
	opts.Proofs = b.proofs(t)
	rep, err := draw.VerifyReport(r, opts)
	if err != nil {
		t.Fatalf("Verify with everything: %v", err)
	}
	if !slices.Equal(rep.Checks, allV2Checks) || len(rep.Skipped) != 0 || len(rep.Unchecked) != 0 {
		t.Errorf("report %+v, want every check and nothing skipped", rep)
	}

	// The record alone: the same checks pass, the rest are named.
	rep, err = draw.VerifyReport(r, draw.VerifyOptions{})
	if err != nil {
		t.Fatalf("Verify of the record alone: %v", err)
	}
	if want := []string{"version", "status", "commitment", "chain", "timing", "beacon_round", "beacon", "total_tickets", "draw_seed", "winners", "replacements"}; !slices.Equal(rep.Checks, want) {
		t.Errorf("record alone: checks %v, want %v", rep.Checks, want)
	}
	if got, want := skipChecks(rep.Skipped), []string{"entrants", "winners", "attestation", "replacements", "replacements", "log"}; !slices.Equal(got, want) {
		t.Errorf("record alone: skipped %v, want %v", got, want)
	}
	if len(rep.Unchecked) != len(r.Claims()) || len(r.Claims()) != 3+1+2 {
		t.Errorf("record alone: %d unchecked of %d claims", len(rep.Unchecked), len(r.Claims()))
	}
	for _, s := range rep.Skipped {
		if s.Reason == "" {
			t.Errorf("skip %q without a reason", s.Check)
		}
	}

	// Proofs alone check every identity; the list is still not recomputed.
	rep, err = draw.VerifyReport(r, draw.VerifyOptions{Proofs: b.proofs(t)})
	if err != nil || len(rep.Unchecked) != 0 || slices.Contains(skipChecks(rep.Skipped), "winners") || !slices.Contains(rep.Checks, "proof") {
		t.Errorf("with proofs: %+v, %v", rep, err)
	}

	// The record survives JSON, and the decoded record verifies alike.
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back draw.Record
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if err := draw.Verify(back, opts); err != nil {
		t.Fatalf("decoded record: %v\n%s", err, data)
	}
}

func TestVerifyV2Unattested(t *testing.T) {
	ids, tickets := ticketList(40, 3, 5)
	b := buildV2(t, v2Spec{name: "unattested", giveawayID: 77, ids: ids, tickets: tickets, maxTickets: 3, k: 2, delay: 3, drawRound: 32285085,
		rounds: []v2RoundSpec{{positions: []int{1}, reasons: []draw.Reason{draw.ReasonUnreachable}, round: 32285086}}})
	rep, err := draw.VerifyReport(b.record, b.opts)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(rep.Checks, "attestation") {
		t.Errorf("an unattested freeze reported as checked: %v", rep.Checks)
	}
	if got := skipChecks(rep.Skipped); !slices.Equal(got, []string{"attestation", "replacements"}) {
		t.Errorf("skipped %v", rep.Skipped)
	}
	if !strings.Contains(rep.Skipped[0].Reason, "freeze_attested: false") || !strings.Contains(rep.Skipped[0].Reason, "operator's word") {
		t.Errorf("unattested reason %q", rep.Skipped[0].Reason)
	}
}

func TestVerifyV2NoEntrants(t *testing.T) {
	b := buildV2(t, v2Spec{name: "empty", giveawayID: 5, maxTickets: 1, k: 3, delay: 10, drawRound: 32285085})
	r := b.record
	if len(r.Winners) != 0 || len(r.BeaconSignature) != 0 || r.TotalTickets != 0 || r.BeaconRound != 32285085 {
		t.Fatalf("record %+v", r)
	}
	if err := draw.Verify(r, b.opts); err != nil {
		t.Fatal(err)
	}
	r.BeaconSignature = quicknetSig(t, 32285085)
	var ve *draw.VerifyError
	if err := draw.Verify(r, draw.VerifyOptions{}); !errors.As(err, &ve) || ve.Check != "beacon" {
		t.Errorf("a signature with no entrants: %v", err)
	}
}
