// Command loadgen is the load harness of the participant service; see
// loadgen -h and loadtest/README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/telegive/participant-service/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := loadgen.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
