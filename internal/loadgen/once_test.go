package loadgen

import (
	"slices"
	"testing"
)

// answered builds an ack log: users sent, 201s and 409s with their ids.
func answered(sent []int64, created, duplicates map[int64]int64) *ackLog {
	a := newAckLog()
	for _, u := range sent {
		a.sent(u)
	}
	for u, id := range created {
		a.created[u] = id
	}
	for u, id := range duplicates {
		a.duplicates[u] = id
	}
	return a
}

func rows(pairs ...int64) []storedRow {
	var out []storedRow
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, storedRow{UserID: pairs[i], ParticipantID: pairs[i+1], Rows: 1, Participations: 1})
	}
	return out
}

func TestCheckOnceAcceptsEveryAcknowledgedRegistrationStoredOnce(t *testing.T) {
	a := answered([]int64{1, 2, 3, 4}, map[int64]int64{1: 10, 2: 20, 3: 30}, map[int64]int64{3: 30})
	// User 4's request timed out after its commit: stored without a 201.
	c := checkOnce(a, rows(1, 10, 2, 20, 3, 30, 4, 40), 1, 4)
	if !c.OK || c.Acknowledged != 3 || c.Stored != 4 || c.Unacknowledged != 1 {
		t.Fatalf("%+v", c)
	}
}

func TestCheckOnceFindsEachFault(t *testing.T) {
	sent := []int64{1, 2, 3}
	created := map[int64]int64{1: 10, 2: 20, 3: 30}
	cases := []struct {
		name   string
		log    *ackLog
		rows   []storedRow
		count  int64
		faulty func(OnceCheck) []int64
		want   []int64
	}{
		{"an acknowledged registration lost", answered(sent, created, nil), rows(1, 10, 3, 30), 2,
			func(c OnceCheck) []int64 { return c.Missing }, []int64{2}},
		{"a 409 for a user not stored", answered(sent, map[int64]int64{1: 10}, map[int64]int64{2: 20}), rows(1, 10), 1,
			func(c OnceCheck) []int64 { return c.Missing }, []int64{2}},
		{"stored under another id", answered(sent, created, nil), rows(1, 10, 2, 21, 3, 30), 3,
			func(c OnceCheck) []int64 { return c.WrongID }, []int64{2}},
		{"a 409 with another id", answered(sent, created, map[int64]int64{3: 31}), rows(1, 10, 2, 20, 3, 30), 3,
			func(c OnceCheck) []int64 { return c.WrongID }, []int64{3}},
		{"stored twice", answered(sent, created, nil),
			append(rows(1, 10, 2, 20), storedRow{UserID: 3, ParticipantID: 30, Rows: 2, Participations: 1}), 4,
			func(c OnceCheck) []int64 { return c.Duplicated }, []int64{3}},
		{"a user never sent", answered(sent, created, nil), rows(1, 10, 2, 20, 3, 30, 9, 90), 4,
			func(c OnceCheck) []int64 { return c.Strangers }, []int64{9}},
		{"counted twice", answered(sent, created, nil),
			append(rows(1, 10, 2, 20), storedRow{UserID: 3, ParticipantID: 30, Rows: 1, Participations: 2}), 3,
			func(c OnceCheck) []int64 { return c.Miscounted }, []int64{3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := checkOnce(c.log, c.rows, 1, c.count)
			if got.OK {
				t.Fatalf("passed: %+v", got)
			}
			if f := c.faulty(got); !slices.Equal(f, c.want) {
				t.Fatalf("found %v, want %v (%+v)", f, c.want, got)
			}
		})
	}
}

func TestCheckOnceFindsADoubleAcknowledgement(t *testing.T) {
	a := newAckLog()
	a.sent(1)
	for range 2 {
		if out := a.classify(1, 201, "", []byte(`{"participant_id": 10}`)); out != outcomeCreated {
			t.Fatalf("outcome %q", out)
		}
	}
	c := checkOnce(a, rows(1, 10), 0, -1)
	if c.OK || !slices.Equal(c.DoubleAcked, []int64{1}) {
		t.Fatalf("%+v", c)
	}
}

func TestCheckOnceComparesTheCountEndpoint(t *testing.T) {
	a := answered([]int64{1, 2}, map[int64]int64{1: 10, 2: 20}, nil)
	if c := checkOnce(a, rows(1, 10, 2, 20), 0, 3); c.OK {
		t.Fatalf("a count of 3 over 2 rows passed: %+v", c)
	}
	if c := checkOnce(a, rows(1, 10, 2, 20), 0, -1); !c.OK {
		t.Fatalf("without a count: %+v", c)
	}
	// Participation counts read through the API are unknown (-1): not checked.
	r := rows(1, 10, 2, 20)
	r[0].Participations = -1
	if c := checkOnce(a, r, 1, 2); !c.OK {
		t.Fatalf("an unknown participation count failed: %+v", c)
	}
}
