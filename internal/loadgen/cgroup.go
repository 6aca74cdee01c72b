package loadgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// memoryCgroup creates a cgroup with a memory limit, as a container runtime
// would, so that a run proves the service fits it: over the limit the
// kernel kills the process. It supports cgroup v2 and v1 and returns the
// file to write a process id into and a function that removes the cgroup.
func memoryCgroup(limit int64) (string, func(), error) {
	name := fmt.Sprintf("participant-loadgen-%d", time.Now().UnixNano())
	for _, c := range []struct{ dir, limitFile string }{
		{"/sys/fs/cgroup", "memory.max"},                   // v2
		{"/sys/fs/cgroup/memory", "memory.limit_in_bytes"}, // v1
	} {
		if _, err := os.Stat(filepath.Join(c.dir, "cgroup.procs")); err != nil {
			continue
		}
		dir := filepath.Join(c.dir, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, c.limitFile), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
			os.Remove(dir)
			continue
		}
		return filepath.Join(dir, "cgroup.procs"), func() { _ = os.Remove(dir) }, nil
	}
	return "", nil, fmt.Errorf("no writable cgroup memory controller (run as root on Linux)")
}
