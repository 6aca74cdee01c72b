// Command participantctl verifies draws and operates the participant
// service; see participantctl help.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/telegive/participant-service/internal/participantctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := participantctl.Run(ctx, &participantctl.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()}, os.Args[1:])
	stop()
	os.Exit(code)
}
