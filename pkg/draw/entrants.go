package draw

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ReadEntrantList reads a v2 entrant list, as the auditor's endpoint
// serves it: one "user_id tickets" pair per line, decimal, separated by one
// space, each line ending in a newline, user ids strictly ascending. It
// checks the list as [CheckTickets] does. tickets is nil when every
// entrant holds one ticket, which saves N x 8 bytes.
func ReadEntrantList(r io.Reader) (ids []int64, tickets []uint64, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64), 64)
	sc.Split(scanLines)
	allOnes := true
	for line := 1; sc.Scan(); line++ {
		idText, ticketText, ok := strings.Cut(sc.Text(), " ")
		id, err1 := parseDecimal(idText, 1<<63-1)
		t, err2 := parseDecimal(ticketText, MaxTotalTickets)
		if !ok || err1 != nil || err2 != nil || id == 0 || t == 0 {
			return nil, nil, fmt.Errorf("draw: entrant list line %d: want \"user_id tickets\" with both at least 1, got %q", line, sc.Text())
		}
		ids = append(ids, int64(id))
		tickets = append(tickets, t)
		allOnes = allOnes && t == 1
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("draw: entrant list: %w", err)
	}
	if ids == nil {
		ids = []int64{}
	}
	if allOnes {
		tickets = nil
	}
	if _, _, err := CheckTickets(ids, tickets); err != nil {
		return nil, nil, err
	}
	return ids, tickets, nil
}

// WriteEntrantList writes ids and their tickets (nil for one each) in the
// form ReadEntrantList reads.
func WriteEntrantList(w io.Writer, ids []int64, tickets []uint64) error {
	bw := bufio.NewWriter(w)
	var buf []byte
	for i, id := range ids {
		buf = strconv.AppendInt(buf[:0], id, 10)
		buf = append(buf, ' ')
		buf = strconv.AppendUint(buf, ticketsAt(tickets, i), 10)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// scanLines splits on "\n" and refuses a last line without one.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, c := range data {
		if c == '\n' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return 0, nil, fmt.Errorf("the last line does not end in a newline")
	}
	return 0, nil, nil
}

// parseDecimal reads a decimal integer without sign or leading zeros, up
// to limit.
func parseDecimal(s string, limit uint64) (uint64, error) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("not a decimal: %q", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("not a decimal: %q", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > limit {
		return 0, fmt.Errorf("out of range: %q", s)
	}
	return n, nil
}
