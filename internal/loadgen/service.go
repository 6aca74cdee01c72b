package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// spawned is a service process the harness started.
type spawned struct {
	cmd     *exec.Cmd
	cleanup func()
	url     string
	ready   time.Duration
	peakRSS atomic.Int64
	stop    chan struct{}
}

// spawn starts the service binary with env on a free port and waits until
// it is ready. With a memory limit it runs in a cgroup of that size from
// its first instruction, so the service sees the limit as in a container.
func spawn(ctx context.Context, binary string, env []string, memoryLimit int64) (*spawned, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	metrics, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, binary, "serve")
	var cleanup func()
	if memoryLimit > 0 {
		procs, rm, err := memoryCgroup(memoryLimit)
		if err != nil {
			return nil, err
		}
		cleanup = rm
		// The shell joins the cgroup, then becomes the service.
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", `echo $$ > "$1" && exec "$2" serve`, "sh", procs, binary)
	}
	// Defaults first, so that env can override them (the last of a name wins).
	cmd.Env = append(os.Environ(), "LOG_LEVEL=warn", "SHUTDOWN_DELAY=0")
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, "SERVICE_PORT="+strconv.Itoa(port), "METRICS_PORT="+strconv.Itoa(metrics), "LISTEN_HOST=127.0.0.1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	s := &spawned{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), stop: make(chan struct{}), cleanup: cleanup}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.url + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("the service was not ready within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.ready = time.Since(start)
	go s.watchRSS()
	return s, nil
}

// rss reads the process's current and peak resident memory from /proc.
func (s *spawned) rss() (current, peak int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			current = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return current, peak
}

// cpu is the CPU time the process has used (user and system), from
// /proc/PID/stat; 0 when it cannot be read.
func (s *spawned) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14 and stime 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	// Linux reports both in USER_HZ, 100 a second on every architecture Go
	// supports.
	return time.Duration(utime+stime) * (time.Second / 100)
}

func (s *spawned) watchRSS() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			cur, _ := s.rss()
			for {
				old := s.peakRSS.Load()
				if cur <= old || s.peakRSS.CompareAndSwap(old, cur) {
					break
				}
			}
		}
	}
}

// resetPeak starts peak measurement afresh (after set-up).
func (s *spawned) resetPeak() {
	cur, _ := s.rss()
	s.peakRSS.Store(cur)
}

// shutdown stops the service with SIGTERM and waits for it.
func (s *spawned) shutdown() error {
	close(s.stop)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	if s.cleanup != nil {
		defer s.cleanup()
	}
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
		return fmt.Errorf("the service did not stop within 30 s")
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
