package drawlog_test

import (
	"bytes"
	"testing"

	"github.com/telegive/participant-service/pkg/drawlog"
)

// FuzzParse checks that Parse never panics and that whatever it accepts is
// the one encoding of what it read: Marshal gives back the same bytes, and
// those bytes parse again.
func FuzzParse(f *testing.F) {
	for _, e := range sampleLog(f) {
		f.Add(mustMarshal(f, e))
	}
	f.Add([]byte(`{"giveaway_id":"1","prev":null,"record_sha256":"` + string(bytes.Repeat([]byte("0"), 64)) + `","seq":0,"type":"legacy"}`))
	f.Add([]byte(`{"type":"draw"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := drawlog.Parse(data)
		if err != nil {
			return
		}
		again, err := drawlog.Marshal(e)
		if err != nil {
			t.Fatalf("Parse accepted %q but Marshal refuses %+v: %v", data, e, err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("Parse accepted %q, which Marshal writes as %q", data, again)
		}
	})
}

// FuzzParseCheckpoint checks that an accepted checkpoint body is the one
// encoding of its origin, size and root.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add("telegive.org/participant-service/draw-log\n11\n1ECK1nEZL8O9Zli90d1cgAOro3oOimqypErBlFmJ9E4=\n")
	f.Add("a\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nextension\n")
	f.Fuzz(func(t *testing.T, body string) {
		c, err := drawlog.ParseCheckpoint(body)
		if err != nil {
			return
		}
		if c.Body() != body {
			t.Fatalf("ParseCheckpoint accepted %q, whose checkpoint %+v is written %q", body, c, c.Body())
		}
	})
}
