package draw_test

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/telegive/participant-service/pkg/draw"
)

func TestEntrantListRoundTrip(t *testing.T) {
	ids, tickets := ticketList(50, 6, 4)
	for _, tk := range [][]uint64{tickets, nil} {
		var buf bytes.Buffer
		if err := draw.WriteEntrantList(&buf, ids, tk); err != nil {
			t.Fatal(err)
		}
		if want := strconv.FormatInt(ids[0], 10) + " " + strconv.FormatUint(ticketOr1(tk, 0), 10) + "\n"; !strings.HasPrefix(buf.String(), want) {
			t.Errorf("list starts %q", buf.String()[:20])
		}
		gotIDs, gotTickets, err := draw.ReadEntrantList(&buf)
		if err != nil || !slices.Equal(gotIDs, ids) || !slices.Equal(gotTickets, tk) {
			t.Errorf("read back %v %v, %v", gotIDs[:3], gotTickets, err)
		}
	}
	ids, tk, err := draw.ReadEntrantList(strings.NewReader(""))
	if err != nil || ids == nil || len(ids) != 0 || tk != nil {
		t.Errorf("empty list: %v %v %v", ids, tk, err)
	}
}

func ticketOr1(t []uint64, i int) uint64 {
	if t == nil {
		return 1
	}
	return t[i]
}

func TestReadEntrantListRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"no tickets":       "5\n",
		"zero tickets":     "5 0\n",
		"zero id":          "0 1\n",
		"negative":         "-5 1\n",
		"leading zero":     "05 1\n",
		"two spaces":       "5  1\n",
		"tab":              "5\t1\n",
		"no final newline": "5 1",
		"CRLF":             "5 1\r\n",
		"unsorted":         "6 1\n5 1\n",
		"duplicate":        "5 1\n5 2\n",
		"sum over 2^53-1":  "1 9007199254740991\n2 1\n",
		"id over int64":    "9223372036854775808 1\n",
		"long line":        "1 1" + strings.Repeat("0", 100) + "\n",
		"plus sign":        "+5 1\n",
	} {
		if ids, _, err := draw.ReadEntrantList(strings.NewReader(in)); err == nil {
			t.Errorf("%s: read %v", name, ids)
		}
	}
}
