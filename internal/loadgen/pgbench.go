package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbenchRegistrations runs pgbench with the registration transaction the
// service sends (loadtest/pgbench/register.sql) over the same users, on
// 1,000 freshly committed giveaways, at the same concurrency and for the
// same time as the HTTP run, and returns its transactions per second.
func pgbenchRegistrations(ctx context.Context, o options, w *world, stdout io.Writer) (float64, error) {
	if o.databaseURL == "" {
		return 0, fmt.Errorf("-pgbench needs -database-url, the database the service uses")
	}
	base := w.userBase + 500_000_000
	for i := range int64(1000) {
		if _, err := w.giveaway.CommitDraw(ctx, base+i); err != nil {
			return 0, fmt.Errorf("commit giveaway for pgbench: %w", err)
		}
	}
	clients := o.concurrency
	if o.rate > 0 {
		clients = 50
	}
	args := []string{"-n", "-M", "simple", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(int(o.duration.Seconds())),
		"-f", o.pgbenchScript,
		"-D", "user_base=" + strconv.FormatInt(w.userBase+1, 10), "-D", "users=" + strconv.Itoa(len(w.known)),
		"-D", "gid_base=" + strconv.FormatInt(base, 10), libpqURL(o.databaseURL)}
	cmd := exec.CommandContext(ctx, "pgbench", args...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "latency average") || strings.HasPrefix(line, "number of failed") {
			fmt.Fprintln(stdout, "pgbench:", line)
		}
	}
	fmt.Fprintf(stdout, "pgbench: %.0f transactions/s with %d clients for %s\n", tps, clients, time.Since(start).Round(time.Second))
	return tps, nil
}

// libpqURL rewrites pgdriver's search_path parameter, which libpq does not
// know, into libpq's options parameter.
func libpqURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	if sp := q.Get("search_path"); sp != "" {
		q.Del("search_path")
		q.Set("options", "-csearch_path="+sp)
		u.RawQuery = q.Encode()
	}
	return u.String()
}
