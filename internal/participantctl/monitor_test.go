package participantctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participantctl"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// monitoredLog is a log with a v1 giveaway (3), an attested v2 giveaway
// with a redraw (7) and an unattested one (9).
func monitoredLog(t *testing.T) *standIn {
	t.Helper()
	s := newStandIn(t)
	s.drawV1(3, 10)
	s.drawV2(v2Giveaway)
	s.drawV2(v2Spec{id: 9, n: 6, k: 2, frozenAt: base.Add(time.Hour)})
	return s
}

// monitorArgs runs one pass; withWitnesses pins the witness keys too.
func monitorArgs(s *standIn, state string, withWitnesses bool, extra ...string) []string {
	args := []string{"monitor", "--once", "--state", state, "--chain-info", s.chainFile, "--key", s.logVKey}
	if withWitnesses {
		args = append(args, "--witness-key", s.witnesses[0].VerifierKey(), "--witness-key", s.witnesses[1].VerifierKey())
	}
	return append(append(args, extra...), s.url)
}

func readState(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestMonitorPassesAGoodLogAndResumes follows a good log, then is
// restarted after more events: it goes on from the saved checkpoint,
// does not fetch the records it checked before, and still knows every
// giveaway's history, so a second freeze of a giveaway frozen before the
// restart is caught.
func TestMonitorPassesAGoodLogAndResumes(t *testing.T) {
	s := monitoredLog(t)
	state := filepath.Join(t.TempDir(), "monitor.json")
	size := len(s.logEntries())
	code, out, errOut := run(t, "", monitorArgs(s, state, true)...)
	if code != participantctl.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	want := fmt.Sprintf("ok  checkpoint of size %d, root ", size)
	if !strings.Contains(out, "no state in "+state+" yet") || !strings.Contains(out, want) ||
		!strings.Contains(out, "cosigned by 2 of 2 witnesses (quorum 2)") ||
		!strings.Contains(out, fmt.Sprintf("; %d entries read and checked", size)) ||
		!strings.Contains(out, "records checked: giveaway 3 (telegive-draw-v1), giveaway 7 (telegive-draw-v2), giveaway 9 (telegive-draw-v2)\n") {
		t.Fatalf("first pass:\n%s", out)
	}
	st := readState(t, state)
	if st["size"] != float64(size) || st["log_key"] != s.logVKey || !strings.HasPrefix(st["checkpoint"].(string), testOrigin+"\n") {
		t.Fatalf("state after the first pass: %v", st)
	}
	if n := s.servedRecords(7); n != 1 {
		t.Fatalf("giveaway 7's record was fetched %d times, want 1", n)
	}

	// More events, then a restart.
	s.drawV2(v2Spec{id: 10, n: 4, k: 1, attest: true, frozenAt: base.Add(2 * time.Hour)})
	code, out, errOut = run(t, "", monitorArgs(s, state, true)...)
	if code != participantctl.ExitOK || !strings.Contains(out, "resuming from "+state+": checkpoint of size "+fmt.Sprint(size)) ||
		!strings.Contains(out, fmt.Sprintf("consistent with size %d verified before", size)) ||
		!strings.HasSuffix(out, "records checked: giveaway 10 (telegive-draw-v2)\n") {
		t.Fatalf("after a restart: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := s.servedRecords(7); n != 1 {
		t.Fatalf("giveaway 7's record was fetched again after the restart (%d times)", n)
	}

	// A second freeze of giveaway 7, checked by a monitor restarted once
	// more: the rules are rebuilt from the entries.
	i := s.secondFreeze(7)
	code, out, _ = run(t, "", monitorArgs(s, state, true)...)
	want = fmt.Sprintf("FAULT rules: giveaway 7, entry %d: rule one-freeze: ", i)
	if code != participantctl.ExitFailed || !strings.Contains(out, want) {
		t.Fatalf("second freeze after a restart: exit %d, want %d and %q\n%s", code, participantctl.ExitFailed, want, out)
	}
	// A fault leaves the state where it was.
	if st := readState(t, state); st["size"] == float64(i+1) {
		t.Fatalf("the state advanced past a fault: %v", st)
	}
}

// TestMonitorPassesAnEmptyLog follows a log before its first entry, whose
// checkpoint the service never submits to the witnesses: with the
// witnesses pinned, it passes, but an uncosigned checkpoint of one entry,
// or a checkpoint of no entries with another root than the empty tree's,
// is a fault.
func TestMonitorPassesAnEmptyLog(t *testing.T) {
	s := newStandIn(t)
	state := filepath.Join(t.TempDir(), "monitor.json")
	code, out, errOut := run(t, "", monitorArgs(s, state, true)...)
	if code != participantctl.ExitOK || !strings.Contains(out, "ok  checkpoint of size 0, root "+drawlog.EmptyRoot.String()+": signed by the log key, empty, so not submitted to the witnesses;") {
		t.Fatalf("the empty log: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	s.drawV1(3, 4)
	s.publish(false)
	code, out, errOut = run(t, "", monitorArgs(s, filepath.Join(t.TempDir(), "fresh.json"), true, "--cosign-wait", "0s")...)
	if code != participantctl.ExitFailed || !strings.Contains(out, "\nFAULT witnesses: the checkpoint of size ") {
		t.Fatalf("an uncosigned log of entries: exit %d, want %d with FAULT witnesses\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitFailed, out, errOut)
	}

	empty := newStandIn(t)
	signed, err := drawlog.SignCheckpoint(empty.signer, testOrigin, 0, drawlog.LeafHash([]byte("not empty")))
	if err != nil {
		t.Fatal(err)
	}
	empty.mu.Lock()
	empty.checkpoint = signed
	empty.mu.Unlock()
	code, out, errOut = run(t, "", monitorArgs(empty, filepath.Join(t.TempDir(), "other.json"), true)...)
	if code != participantctl.ExitFailed || !strings.Contains(out, "\nFAULT log-rewritten: the checkpoint of size 0 has root ") {
		t.Fatalf("a checkpoint of no entries with another root: exit %d, want %d with FAULT log-rewritten\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitFailed, out, errOut)
	}
}

// TestMonitorWaitsForTheCosignatures reads a checkpoint the moment it is
// signed, before the witnesses cosign it, as the service serves it: the
// monitor fetches it again until the cosignatures come, and names the
// fault only when --cosign-wait passes without them.
func TestMonitorWaitsForTheCosignatures(t *testing.T) {
	s := monitoredLog(t)
	s.drawV1(4, 5)
	s.publish(false)
	code, out, errOut := run(t, "", monitorArgs(s, filepath.Join(t.TempDir(), "now.json"), true, "--cosign-wait", "0s")...)
	size := len(s.logEntries())
	if code != participantctl.ExitFailed || !strings.Contains(out, fmt.Sprintf("\nFAULT witnesses: the checkpoint of size %d: ", size)) {
		t.Fatalf("no wait: exit %d, want %d with FAULT witnesses\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitFailed, out, errOut)
	}

	cosigned := make(chan struct{})
	time.AfterFunc(time.Second, func() {
		defer close(cosigned)
		s.publish(true)
	})
	start := time.Now()
	code, out, errOut = run(t, "", monitorArgs(s, filepath.Join(t.TempDir(), "wait.json"), true, "--cosign-wait", "20s")...)
	<-cosigned
	if code != participantctl.ExitOK || !strings.Contains(out, fmt.Sprintf("ok  checkpoint of size %d, root ", size)) ||
		!strings.Contains(out, "cosigned by 2 of 2 witnesses (quorum 2)") {
		t.Fatalf("waiting for the cosignatures: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if waited := time.Since(start); waited < time.Second || waited > 15*time.Second {
		t.Fatalf("the pass took %v, want from 1 s, when the cosignatures came, to well before the 20 s wait", waited)
	}
}

// TestMonitorNamesTheFault rewrites, cuts or lies about the log or a
// record after a monitor has seen it, and expects the fault named.
func TestMonitorNamesTheFault(t *testing.T) {
	cases := []struct {
		name, fault string
		// after runs once the first pass has saved its state; nil runs
		// the monitor on a fresh state instead.
		after func(s *standIn)
		// fresh tampers before a first pass.
		fresh func(s *standIn)
		// witnesses pins the witnesses' keys too.
		witnesses bool
	}{
		{name: "rewritten entry", fault: "log-rewritten", after: func(s *standIn) {
			es := s.logEntries()
			es[1] = bytes.Replace(es[1], []byte(`"entrants_count":10`), []byte(`"entrants_count":11`), 1)
			s.rebuild(es)
			s.publish(false)
		}},
		{name: "rewritten entry and more appended", fault: "log-rewritten", after: func(s *standIn) {
			es := s.logEntries()
			es[1] = bytes.Replace(es[1], []byte(`"entrants_count":10`), []byte(`"entrants_count":11`), 1)
			s.rebuild(es)
			// The witnesses refuse the fork; the service signs it alone.
			s.appendEntry(drawlog.Commit{Header: drawlog.Header{GiveawayID: 4}, Commitment: drawlog.Hash(draw.Commitment(seedOf(4))),
				Version: drawlog.VersionV1, MaxTickets: 1, CommittedAt: base}, nil)
			s.publish(false)
		}},
		{name: "removed entry", fault: "log-shrunk", after: func(s *standIn) {
			es := s.logEntries()
			s.rebuild(es[:len(es)-1])
			s.publish(false)
		}},
		// With the witnesses' keys pinned, a checkpoint that does not
		// extend the one verified before is named for what the log did,
		// not for the cosignatures the witnesses rightly refused it.
		{name: "rewritten entry and more appended, witnesses pinned", fault: "log-rewritten", witnesses: true, after: func(s *standIn) {
			es := s.logEntries()
			es[1] = bytes.Replace(es[1], []byte(`"entrants_count":10`), []byte(`"entrants_count":11`), 1)
			s.rebuild(es)
			s.appendEntry(drawlog.Commit{Header: drawlog.Header{GiveawayID: 4}, Commitment: drawlog.Hash(draw.Commitment(seedOf(4))),
				Version: drawlog.VersionV1, MaxTickets: 1, CommittedAt: base}, nil)
			s.publish(false)
		}},
		{name: "removed entry, witnesses pinned", fault: "log-shrunk", witnesses: true, after: func(s *standIn) {
			es := s.logEntries()
			s.rebuild(es[:len(es)-1])
			s.publish(false)
		}},
		{name: "second freeze", fault: "rules", after: func(s *standIn) { s.secondFreeze(9) }},
		{name: "record differs from its log entries", fault: "record", fresh: func(s *standIn) {
			s.recordHook = func(r *draw.Record) {
				if r.GiveawayID == 7 {
					r.DrawnAt = r.DrawnAt.Add(time.Second)
				}
			}
		}},
		{name: "v1 record differs from its log entries", fault: "record", fresh: func(s *standIn) {
			s.recordHook = func(r *draw.Record) {
				if r.GiveawayID == 3 {
					r.DrawnAt = r.DrawnAt.Add(time.Second)
				}
			}
		}},
		{name: "bad beacon", fault: "beacon", fresh: func(s *standIn) {
			s.recordHook = func(r *draw.Record) {
				if r.GiveawayID == 9 {
					r.BeaconSignature[47] ^= 1
				}
			}
		}},
		{name: "served entries not in the checkpoint", fault: "entries", fresh: func(s *standIn) {
			s.entryHook = func(index uint64, data []byte) []byte {
				if index == 1 {
					return bytes.Replace(data, []byte(`"entrants_count":10`), []byte(`"entrants_count":11`), 1)
				}
				return data
			}
		}},
		{name: "served entry not canonical", fault: "entries", fresh: func(s *standIn) {
			s.entryHook = func(index uint64, data []byte) []byte {
				if index == 0 {
					return bytes.Replace(data, []byte(`"seq":0`), []byte(`"seq":0 `), 1)
				}
				return data
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := monitoredLog(t)
			state := filepath.Join(t.TempDir(), "monitor.json")
			if c.after != nil {
				if code, out, errOut := run(t, "", monitorArgs(s, state, c.witnesses)...); code != participantctl.ExitOK {
					t.Fatalf("the first pass: exit %d\n%s\n%s", code, out, errOut)
				}
				c.after(s)
			} else {
				s.mu.Lock()
				c.fresh(s)
				s.mu.Unlock()
			}
			code, out, errOut := run(t, "", monitorArgs(s, state, c.witnesses)...)
			if code != participantctl.ExitFailed || !strings.Contains(out, "\nFAULT "+c.fault+": ") {
				t.Fatalf("exit %d, want %d and FAULT %s\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitFailed, c.fault, out, errOut)
			}
		})
	}
}

// TestMonitorFollowsTheLog polls until a fault appears in the log.
func TestMonitorFollowsTheLog(t *testing.T) {
	s := monitoredLog(t)
	state := filepath.Join(t.TempDir(), "monitor.json")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int)
	go func() {
		env := &participantctl.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
		done <- participantctl.Run(ctx, env, []string{"monitor", "--interval", "20ms", "--state", state, "--chain-info", s.chainFile, "--key", s.logVKey, s.url})
	}()
	for {
		if _, err := os.Stat(state); err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("the monitor stopped with exit %d before its first pass\n%s\n%s", code, out.String(), errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	i := s.secondFreeze(7)
	select {
	case code := <-done:
		if want := fmt.Sprintf("FAULT rules: giveaway 7, entry %d: rule one-freeze", i); code != participantctl.ExitFailed || !strings.Contains(out.String(), want) {
			t.Fatalf("exit %d, want %d and %q\n%s\n%s", code, participantctl.ExitFailed, want, out.String(), errOut.String())
		}
	case <-ctx.Done():
		t.Fatal("the monitor did not notice the second freeze")
	}
}

// TestMonitorUsage refuses a run without its pinned key or state, and a
// state file kept for another log key.
func TestMonitorUsage(t *testing.T) {
	s := newStandIn(t)
	state := filepath.Join(t.TempDir(), "monitor.json")
	for _, args := range [][]string{
		{"monitor", "--state", state, s.url},
		{"monitor", "--key", s.logVKey, s.url},
		{"monitor", "--key", s.logVKey, "--state", state},
	} {
		if code, _, _ := run(t, "", args...); code != participantctl.ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, participantctl.ExitUsage)
		}
	}
	if code, _, errOut := run(t, "", "monitor", "--help"); code != participantctl.ExitOK ||
		!strings.Contains(errOut, "Exit codes: 0 the log checked out") || !strings.Contains(errOut, "1 a fault was found") {
		t.Errorf("--help: exit %d\n%s", code, errOut)
	}
	if err := os.WriteFile(state, []byte(`{"log_key":"other+00000000+AAAA","size":0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "", "monitor", "--once", "--key", s.logVKey, "--state", state, s.url); code != participantctl.ExitUsage ||
		!strings.Contains(errOut, "follows the log key other+00000000+AAAA") {
		t.Errorf("a state of another key: exit %d\n%s", code, errOut)
	}
	if err := os.WriteFile(state, []byte(`not json`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := run(t, "", "monitor", "--once", "--key", s.logVKey, "--state", state, s.url); code != participantctl.ExitUnusable {
		t.Errorf("an unreadable state: exit %d, want %d", code, participantctl.ExitUnusable)
	}
}
