package draw_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

var (
	committedAt = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	drawnAt     = time.Date(2025, 3, 8, 12, 0, 0, 0, time.UTC)
)

func serverSeed(label string) []byte {
	s := seed("server "+label, 0)
	return s[:]
}

// mustDraw draws k winners among n entrants from fixed inputs.
func mustDraw(t testing.TB, n int, k uint64, beacon []byte) (draw.Record, []int64) {
	t.Helper()
	e := entrants(n)
	r, err := draw.Draw(draw.Input{
		GiveawayID:  42,
		ServerSeed:  serverSeed("fixture"),
		CommittedAt: committedAt,
		DrawnAt:     drawnAt,
		Entrants:    e,
		Beacon:      beacon,
		WinnerCount: k,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, e
}

// mustRedraw computes and appends a round.
func mustRedraw(t testing.TB, r *draw.Record, e []int64, disqualified ...int64) draw.Redraw {
	t.Helper()
	rd, err := r.Redraw(e, disqualified, "left the channel", drawnAt.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r.Replacements = append(r.Replacements, rd)
	return rd
}

func TestDraw(t *testing.T) {
	r, e := mustDraw(t, 50, 5, []byte("beacon"))
	if r.Version != draw.Version || r.Status != draw.StatusDrawn || r.EntrantsCount != 50 {
		t.Fatalf("unexpected header %q %q %d", r.Version, r.Status, r.EntrantsCount)
	}
	if r.Commitment != draw.Commitment(serverSeed("fixture")) {
		t.Errorf("commitment %s does not match the seed", r.Commitment)
	}
	if r.EntrantsRoot != draw.Root(e) {
		t.Errorf("root %s, want %s", r.EntrantsRoot, draw.Root(e))
	}
	if want := draw.DrawSeed(serverSeed("fixture"), 42, r.EntrantsRoot, 50, []byte("beacon")); r.DrawSeed != want {
		t.Errorf("draw seed %s, want %s", r.DrawSeed, want)
	}
	idx := draw.Select(r.DrawSeed, 50, 5)
	for j, w := range r.Winners {
		if want := (draw.Pick{Position: j + 1, UserID: e[idx[j]], Index: idx[j]}); w != want {
			t.Errorf("winner %d = %+v, want %+v", j, w, want)
		}
	}
	if len(r.Winners) != 5 {
		t.Errorf("%d winners, want 5", len(r.Winners))
	}
	if err := draw.Verify(r, draw.VerifyOptions{Entrants: e}); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestDrawRejectsBadInput(t *testing.T) {
	good := draw.Input{ServerSeed: serverSeed("x"), CommittedAt: committedAt, DrawnAt: drawnAt, Entrants: []int64{1, 2, 3}, WinnerCount: 1}
	cases := map[string]func(*draw.Input){
		"short seed":        func(in *draw.Input) { in.ServerSeed = in.ServerSeed[:31] },
		"no seed":           func(in *draw.Input) { in.ServerSeed = nil },
		"zero winners":      func(in *draw.Input) { in.WinnerCount = 0 },
		"unsorted entrants": func(in *draw.Input) { in.Entrants = []int64{1, 3, 2} },
		"repeated entrant":  func(in *draw.Input) { in.Entrants = []int64{1, 2, 2} },
		"zero user id":      func(in *draw.Input) { in.Entrants = []int64{0, 1} },
		"negative user id":  func(in *draw.Input) { in.Entrants = []int64{-5, 1} },
		"drawn before":      func(in *draw.Input) { in.DrawnAt = committedAt.Add(-time.Second) },
	}
	if _, err := draw.Draw(good); err != nil {
		t.Fatalf("good input: %v", err)
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			in := good
			mutate(&in)
			if _, err := draw.Draw(in); err == nil {
				t.Error("Draw accepted bad input")
			}
		})
	}
}

func TestDrawEveryoneWinsWhenFewEntrants(t *testing.T) {
	r, e := mustDraw(t, 7, 10, nil)
	got := make([]int64, 0, len(r.Winners))
	for _, w := range r.Winners {
		got = append(got, w.UserID)
	}
	slices.Sort(got)
	if !slices.Equal(got, e) {
		t.Errorf("winners %v, want every entrant %v", got, e)
	}
}

func TestRedrawContinuesThePermutation(t *testing.T) {
	r, e := mustDraw(t, 50, 5, nil)
	// All picks of the shuffle in order: 5 winners, then 2 + 1 replacements.
	all := draw.Select(r.DrawSeed, 50, 8)

	// Disqualify positions 4 and 2, listed out of order: replacements go to
	// positions in ascending order.
	rd := mustRedraw(t, &r, e, r.Winners[3].UserID, r.Winners[1].UserID)
	want := []draw.Replacement{
		{Position: 2, UserID: e[all[5]], Index: all[5], ReplacesUserID: r.Winners[1].UserID},
		{Position: 4, UserID: e[all[6]], Index: all[6], ReplacesUserID: r.Winners[3].UserID},
	}
	if !reflect.DeepEqual(rd.Replacements, want) {
		t.Fatalf("round 1 = %+v, want %+v", rd.Replacements, want)
	}

	// A replacement can itself be disqualified in a later round.
	rd = mustRedraw(t, &r, e, want[0].UserID)
	want2 := []draw.Replacement{{Position: 2, UserID: e[all[7]], Index: all[7], ReplacesUserID: want[0].UserID}}
	if !reflect.DeepEqual(rd.Replacements, want2) {
		t.Fatalf("round 2 = %+v, want %+v", rd.Replacements, want2)
	}

	cur := r.CurrentWinners()
	wantCur := []draw.Pick{r.Winners[0], {Position: 2, UserID: e[all[7]], Index: all[7]}, r.Winners[2], {Position: 4, UserID: e[all[6]], Index: all[6]}, r.Winners[4]}
	if !reflect.DeepEqual(cur, wantCur) {
		t.Errorf("CurrentWinners = %+v, want %+v", cur, wantCur)
	}
	if err := draw.Verify(r, draw.VerifyOptions{Entrants: e}); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestRedrawRunsOut(t *testing.T) {
	r, e := mustDraw(t, 4, 3, nil)
	all := draw.Select(r.DrawSeed, 4, 4)
	rd := mustRedraw(t, &r, e, r.Winners[2].UserID, r.Winners[0].UserID)
	want := []draw.Replacement{{Position: 1, UserID: e[all[3]], Index: all[3], ReplacesUserID: r.Winners[0].UserID}}
	if !reflect.DeepEqual(rd.Replacements, want) {
		t.Fatalf("replacements %+v, want %+v", rd.Replacements, want)
	}
	rd = mustRedraw(t, &r, e, r.Winners[1].UserID)
	if rd.Replacements == nil || len(rd.Replacements) != 0 {
		t.Fatalf("replacements %#v after the entrants ran out, want an empty list", rd.Replacements)
	}
	if got, want := r.CurrentWinners(), []draw.Pick{{Position: 1, UserID: e[all[3]], Index: all[3]}}; !reflect.DeepEqual(got, want) {
		t.Errorf("CurrentWinners = %+v, want %+v", got, want)
	}
	if err := draw.Verify(r, draw.VerifyOptions{Entrants: e}); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestRedrawRejects(t *testing.T) {
	r, e := mustDraw(t, 20, 3, nil)
	first := r.Winners[0].UserID
	mustRedraw(t, &r, e, first)
	var loser int64
	for _, id := range e {
		if !slices.ContainsFunc(r.CurrentWinners(), func(p draw.Pick) bool { return p.UserID == id }) && id != first {
			loser = id
			break
		}
	}
	committed := r
	committed.Status = draw.StatusCommitted
	cases := []struct {
		name     string
		r        draw.Record
		entrants []int64
		dq       []int64
	}{
		{"empty", r, e, nil},
		{"duplicate", r, e, []int64{r.Winners[1].UserID, r.Winners[1].UserID}},
		{"not a winner", r, e, []int64{loser}},
		{"already disqualified", r, e, []int64{first}},
		{"not an entrant", r, e, []int64{999999}},
		{"other entrants", r, e[1:], []int64{r.Winners[1].UserID}},
		{"same count, other entrants", r, append(e[:19:19], 1000), []int64{r.Winners[1].UserID}},
		{"not drawn", committed, e, []int64{r.Winners[1].UserID}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.r.Redraw(c.entrants, c.dq, "x", drawnAt); err == nil {
				t.Error("Redraw succeeded")
			}
		})
	}
}

func TestProof(t *testing.T) {
	r, e := mustDraw(t, 100, 3, nil)
	gone := r.Winners[1]
	rd := mustRedraw(t, &r, e, gone.UserID)
	for _, w := range r.CurrentWinners() {
		p, err := r.Proof(e, w.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if !p.IsWinner || p.Position != w.Position || p.LeafIndex != w.Index || p.TreeSize != 100 || p.EntrantsRoot != r.EntrantsRoot {
			t.Errorf("proof for winner %+v: %+v", w, p)
		}
	}
	p, err := r.Proof(e, gone.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if p.IsWinner || p.Position != 0 || p.LeafIndex != gone.Index {
		t.Errorf("proof for disqualified %+v: %+v", gone, p)
	}
	if p, err := r.Proof(e, rd.Replacements[0].UserID); err != nil || !p.IsWinner || p.Position != 2 {
		t.Errorf("proof for the replacement: %+v, %v", p, err)
	}
	if _, err := r.Proof(e, 2); !errors.Is(err, draw.ErrNotEntered) {
		t.Errorf("Proof for a non-entrant: %v, want ErrNotEntered", err)
	}
	other := append([]int64(nil), e...)
	other[0] = 1
	if _, err := r.Proof(other, e[50]); err == nil || errors.Is(err, draw.ErrNotEntered) {
		t.Errorf("Proof over another list: %v", err)
	}
	one, _ := mustDraw(t, 1, 1, nil)
	p, err = one.Proof([]int64{7}, 7)
	if err != nil || p.AuditPath == nil || len(p.AuditPath) != 0 || !p.IsWinner {
		t.Errorf("single-entrant proof %+v, %v", p, err)
	}
}

func TestCommittedRecordJSON(t *testing.T) {
	r, _ := mustDraw(t, 10, 2, []byte{1, 2})
	r.Status = draw.StatusCommitted
	r.CommittedAt = r.CommittedAt.In(time.FixedZone("X", 3600))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"commitment", "committed_at", "giveaway_id", "status", "version"}; !slices.Equal(keys, want) {
		t.Errorf("committed record has keys %v, want %v", keys, want)
	}
	if m["committed_at"] != "2025-03-01T12:00:00Z" {
		t.Errorf("committed_at = %v, want UTC", m["committed_at"])
	}
	if strings.Contains(string(b), draw.HexBytes(serverSeed("fixture")).String()) {
		t.Error("committed record leaks the server seed")
	}
	var back draw.Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := draw.Record{Version: r.Version, Status: r.Status, GiveawayID: 42, Commitment: r.Commitment, CommittedAt: committedAt}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("decoded %+v, want %+v", back, want)
	}
}

func TestDrawnRecordJSONRoundTrip(t *testing.T) {
	for _, beacon := range [][]byte{nil, []byte("drand round 123")} {
		r, e := mustDraw(t, 30, 4, beacon)
		mustRedraw(t, &r, e, r.Winners[0].UserID, r.Winners[3].UserID)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back draw.Record
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, r) {
			t.Errorf("round trip changed the record:\n got %+v\nwant %+v", back, r)
		}
		b2, _ := json.Marshal(back)
		if string(b2) != string(b) {
			t.Errorf("re-encoding differs:\n%s\n%s", b, b2)
		}
		if beacon == nil && !strings.Contains(string(b), `"beacon":""`) {
			t.Errorf("absent beacon not encoded as empty string: %s", b)
		}
	}
}

func TestDrawnRecordJSONShape(t *testing.T) {
	r, _ := mustDraw(t, 0, 3, nil)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "status", "giveaway_id", "commitment", "committed_at", "server_seed", "entrants_count", "entrants_root", "beacon", "draw_seed", "winner_count_requested", "winners", "replacements", "drawn_at"} {
		if _, ok := m[k]; !ok {
			t.Errorf("drawn record lacks %q", k)
		}
	}
	for k, want := range map[string]string{"winners": "[]", "replacements": "[]", "beacon": `""`, "entrants_root": `"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"`} {
		if got := string(m[k]); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	// A record built by hand with nil lists still encodes them as arrays.
	r.Winners, r.Replacements = nil, []draw.Redraw{{DisqualifiedUserIDs: []int64{1}}}
	b, _ = json.Marshal(r)
	if !strings.Contains(string(b), `"winners":[]`) || !strings.Contains(string(b), `"replacements":[]`) {
		t.Errorf("nil lists encoded as null: %s", b)
	}
}

func TestRecordJSONDecoding(t *testing.T) {
	const hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	var r draw.Record
	in := `{"version":"telegive-draw-v1","status":"committed","giveaway_id":9,"commitment":"` + hash + `","committed_at":"2025-03-01T13:00:00+01:00","future_field":{"x":1}}`
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if r.GiveawayID != 9 || r.Commitment.String() != hash || !r.CommittedAt.Equal(committedAt) || r.CommittedAt.Location() != time.UTC {
		t.Errorf("decoded %+v", r)
	}
	for _, bad := range []string{
		`{"commitment":"` + strings.ToUpper(hash) + `"}`,
		`{"commitment":"` + hash[:62] + `"}`,
		`{"commitment":"` + hash[:63] + `g"}`,
		`{"server_seed":"abc"}`,
		`{"beacon":"AB"}`,
	} {
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}
