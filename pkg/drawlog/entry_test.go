package drawlog_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gowebpki/jcs"

	"github.com/telegive/participant-service/pkg/drawlog"
)

func TestMarshalCanonicalBytes(t *testing.T) {
	e := drawlog.Draw{
		Header:     drawlog.Header{GiveawayID: 9223372036854775807, Seq: 2, Prev: new(uint64(9007199254740991))},
		ServerSeed: drawlog.Hash{0xab}, DrawSeed: drawlog.Hash{31: 0x01},
		Winners: []int64{9223372036854775807, 1}, DrawnAt: time.Date(2026, 12, 1, 10, 0, 5, 0, time.FixedZone("CET", 3600)),
	}
	want := `{"beacon_round":null,` +
		`"draw_seed":"0000000000000000000000000000000000000000000000000000000000000001",` +
		`"drawn_at":"2026-12-01T09:00:05Z","giveaway_id":"9223372036854775807","prev":9007199254740991,"seq":2,` +
		`"server_seed":"ab00000000000000000000000000000000000000000000000000000000000000",` +
		`"type":"draw","winners":["9223372036854775807","1"]}`
	if got := string(mustMarshal(t, e)); got != want {
		t.Errorf("Marshal:\n got %s\nwant %s", got, want)
	}
}

func TestMarshalDoesNotEscapeHTML(t *testing.T) {
	e := drawlog.RedrawRequest{
		Header: drawlog.Header{GiveawayID: 1, Seq: 3, Prev: new(uint64(2))}, Round: 1,
		Disqualified: []drawlog.Disqualification{{UserID: 9, Reason: "<b>\"left\" & gone</b>\u2028\n"}},
		RequestedAt:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	got := mustMarshal(t, e)
	want := `"reason":"<b>\"left\" & gone</b>` + "\u2028" + `\n"`
	if !bytes.Contains(got, []byte(want)) {
		t.Errorf("Marshal = %s, want it to contain %s", got, want)
	}
}

func TestMarshalNullsAndEmptyLists(t *testing.T) {
	got := string(mustMarshal(t, drawlog.Draw{Header: drawlog.Header{GiveawayID: 3}, DrawnAt: time.Unix(0, 0)}))
	for _, want := range []string{`"winners":[]`, `"prev":null`, `"beacon_round":null`, `"drawn_at":"1970-01-01T00:00:00Z"`} {
		if !strings.Contains(got, want) {
			t.Errorf("Marshal = %s, want %s", got, want)
		}
	}
	got = string(mustMarshal(t, drawlog.Redraw{Header: drawlog.Header{GiveawayID: 3, Seq: 4, Prev: new(uint64(8))}, Round: 2,
		Replacements: []int64{drawlog.NoReplacement, 12}, RedrawnAt: time.Unix(0, 0)}))
	if want := `"replacements":[null,"12"]`; !strings.Contains(got, want) {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}

func TestParseRoundTripsEveryType(t *testing.T) {
	for i, e := range sampleLog(t) {
		data := mustMarshal(t, e)
		got, err := drawlog.Parse(data)
		if err != nil {
			t.Fatalf("entry %d: Parse(%s): %v", i, data, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("entry %d: Parse gave\n%#v\nwant\n%#v", i, got, e)
		}
	}
}

func TestMarshalRefuses(t *testing.T) {
	ok := drawlog.Commit{Header: drawlog.Header{GiveawayID: 1}, Version: drawlog.VersionV2, ChainHash: &quicknet,
		BeaconDelay: 10, MaxTickets: 1, CommittedAt: at("2026-12-01T09:00:00Z")}
	mustMarshal(t, ok)
	tests := []struct {
		name string
		edit func(*drawlog.Commit)
		want string
	}{
		{"fraction of a second", func(c *drawlog.Commit) { c.CommittedAt = c.CommittedAt.Add(time.Millisecond) }, "fractions of a second"},
		{"giveaway 0", func(c *drawlog.Commit) { c.GiveawayID = 0 }, "giveaway_id 0"},
		{"negative giveaway", func(c *drawlog.Commit) { c.GiveawayID = -5 }, "giveaway_id -5"},
		{"number above 2^53-1", func(c *drawlog.Commit) { c.BeaconDelay = 1 << 53 }, "above 2^53-1"},
		{"v2 without chain", func(c *drawlog.Commit) { c.ChainHash = nil }, "chain_hash"},
		{"v2 without delay", func(c *drawlog.Commit) { c.BeaconDelay = 0 }, "beacon_delay"},
		{"v1 with chain", func(c *drawlog.Commit) { c.Version = drawlog.VersionV1; c.BeaconDelay = 0 }, "chain_hash null"},
		{"unknown version", func(c *drawlog.Commit) { c.Version = "telegive-draw-v3" }, "unknown version"},
		{"year 10000", func(c *drawlog.Commit) { c.CommittedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "year"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			_, err := drawlog.Marshal(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Marshal error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	others := []struct {
		name string
		e    drawlog.Entry
		want string
	}{
		{"duplicate winner", drawlog.Draw{Header: drawlog.Header{GiveawayID: 1}, Winners: []int64{4, 4}, DrawnAt: time.Unix(0, 0)}, "twice"},
		{"winner 0", drawlog.Draw{Header: drawlog.Header{GiveawayID: 1}, Winners: []int64{0}, DrawnAt: time.Unix(0, 0)}, "not a user id"},
		{"no disqualified", drawlog.RedrawRequest{Header: drawlog.Header{GiveawayID: 1}, Round: 1, RequestedAt: time.Unix(0, 0)}, "disqualified is empty"},
		{"empty reason", drawlog.RedrawRequest{Header: drawlog.Header{GiveawayID: 1}, Round: 1,
			Disqualified: []drawlog.Disqualification{{UserID: 3}}, RequestedAt: time.Unix(0, 0)}, "reason"},
		{"round 0", drawlog.Redraw{Header: drawlog.Header{GiveawayID: 1}, Replacements: []int64{3}, RedrawnAt: time.Unix(0, 0)}, "round starts at 1"},
		{"beacon round 0", drawlog.Freeze{Header: drawlog.Header{GiveawayID: 1}, BeaconRound: new(uint64(0)), FrozenAt: time.Unix(0, 0)}, "beacon_round starts at 1"},
		{"fewer tickets than entrants", drawlog.Freeze{Header: drawlog.Header{GiveawayID: 1}, EntrantsCount: 3, TotalTickets: 2, FrozenAt: time.Unix(0, 0)}, "below entrants_count"},
		{"nil", nil, "nil entry"},
	}
	for _, tt := range others {
		t.Run(tt.name, func(t *testing.T) {
			_, err := drawlog.Marshal(tt.e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Marshal error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// canon re-canonicalizes an edited entry, so that a refusal is for the
// content and not the form.
func canon(t *testing.T, s string) string {
	t.Helper()
	b, err := jcs.Transform([]byte(s))
	if err != nil {
		t.Fatalf("jcs.Transform(%s): %v", s, err)
	}
	return string(b)
}

func TestParseRefuses(t *testing.T) {
	log := sampleLog(t)
	commit := string(mustMarshal(t, log[0]))
	draw := string(mustMarshal(t, log[3]))
	request := string(mustMarshal(t, log[7]))
	fraud := string(mustMarshal(t, log[9]))
	for _, s := range []string{commit, draw, request, fraud} {
		if _, err := drawlog.Parse([]byte(s)); err != nil {
			t.Fatalf("Parse(%s): %v", s, err)
		}
	}
	r := strings.Replace
	tests := []struct {
		name, data, want string
	}{
		{"white space", r(commit, `,"seq"`, `, "seq"`, 1), "canonical"},
		{"trailing newline", commit + "\n", "canonical"},
		{"members out of order", `{"type":"legacy","giveaway_id":"7","prev":null,"record_sha256":"` + strings.Repeat("0", 64) + `","seq":0}`, "canonical"},
		{"needless escape", r(request, `left_channel`, `left\u005fchannel`, 1), "canonical"},
		{"HTML escape", r(fraud, `fraud: <script>`, `fraud: \u003cscript>`, 1), "canonical"},
		{"number as 1.0", r(commit, `"seq":0`, `"seq":0.0`, 1), "canonical"},
		{"duplicate member", r(commit, `"seq":0`, `"seq":0,"seq":0`, 1), "not JSON"},
		{"not UTF-8", r(request, `left_channel`, "left\xffchannel", 1), "UTF-8"},
		{"not an object", `[1,2]`, "object"},
		{"unknown type", canon(t, r(commit, `"type":"commit"`, `"type":"recommit"`, 1)), `unknown entry type "recommit"`},
		{"no type", canon(t, r(commit, `,"type":"commit"`, ``, 1)), `"type" is missing`},
		{"missing member", canon(t, r(commit, `"max_tickets":5,`, ``, 1)), `"max_tickets" is missing`},
		{"extra member", canon(t, r(commit, `"seq":0`, `"seq":0,"salt":"x"`, 1)), `unknown member "salt"`},
		{"extra member in disqualified", canon(t, r(request, `"user_id":"101"`, `"user_id":"101","x":1`, 1)), `unknown member "x"`},
		{"null commitment", canon(t, r(commit, `"commitment":"`+log[0].(drawlog.Commit).Commitment.String()+`"`, `"commitment":null`, 1)), "commitment must be a string"},
		{"null winners", canon(t, r(draw, `"winners":["101","9223372036854775807"]`, `"winners":null`, 1)), "winners must be an array"},
		{"time with fraction", canon(t, r(commit, `09:00:00Z`, `09:00:00.5Z`, 1)), "whole seconds"},
		{"time with offset", canon(t, r(commit, `09:00:00Z`, `09:00:00+00:00`, 1)), "whole seconds"},
		{"time lower-case z", canon(t, r(commit, `09:00:00Z`, `09:00:00z`, 1)), "whole seconds"},
		{"id as number", canon(t, r(commit, `"giveaway_id":"42"`, `"giveaway_id":42`, 1)), "giveaway_id must be a string"},
		{"id with leading zero", canon(t, r(commit, `"giveaway_id":"42"`, `"giveaway_id":"042"`, 1)), "giveaway_id must be the decimal string"},
		{"id with sign", canon(t, r(commit, `"giveaway_id":"42"`, `"giveaway_id":"+42"`, 1)), "giveaway_id must be the decimal string"},
		{"id 0", canon(t, r(commit, `"giveaway_id":"42"`, `"giveaway_id":"0"`, 1)), "giveaway_id must be the decimal string"},
		{"id above 2^63-1", canon(t, r(commit, `"giveaway_id":"42"`, `"giveaway_id":"9223372036854775808"`, 1)), "giveaway_id must be the decimal string"},
		{"user id above 2^63-1", canon(t, r(draw, `"101"`, `"18446744073709551616"`, 1)), "winners[0] must be the decimal string"},
		{"negative number", canon(t, r(commit, `"seq":0`, `"seq":-1`, 1)), "seq must be an integer"},
		{"fraction", canon(t, r(commit, `"max_tickets":5`, `"max_tickets":5.5`, 1)), "max_tickets must be an integer"},
		{"number above 2^53-1", canon(t, r(commit, `"max_tickets":5`, `"max_tickets":9007199254740992`, 1)), "max_tickets must be an integer"},
		{"number as string", canon(t, r(commit, `"seq":0`, `"seq":"0"`, 1)), "seq must be an integer"},
		{"upper-case hex", canon(t, r(commit, `"chain_hash":"52db9ba7`, `"chain_hash":"52DB9BA7`, 1)), "lowercase hex"},
		{"short hash", canon(t, r(commit, `"chain_hash":"52db9ba7`, `"chain_hash":"52db9b`, 1)), "64 lowercase hex"},
		{"duplicate winner", canon(t, r(draw, `"101"`, `"9223372036854775807"`, 1)), "twice"},
		{"null disqualified user", canon(t, r(request, `"user_id":"101"`, `"user_id":null`, 1)), "user_id must be a string"},
		{"v1 shape broken", canon(t, r(commit, `"telegive-draw-v2"`, `"telegive-draw-v1"`, 1)), "v1 commit"},
		{"empty", ``, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := drawlog.Parse([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%s) = %+v, %v; want an error containing %q", tt.data, e, err, tt.want)
			}
		})
	}
}
