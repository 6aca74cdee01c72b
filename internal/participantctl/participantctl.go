// Package participantctl is participantctl, the operator's and auditor's
// command-line tool for the participant service.
package participantctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/version"
)

// Exit codes that scripts can rely on.
const (
	ExitOK       = 0
	ExitFailed   = 1 // the check ran and failed (for example, a draw did not verify)
	ExitUsage    = 2 // bad arguments
	ExitUnusable = 3 // the input could not be read or fetched
	// ExitPartial means every check that ran passed but some could not be
	// made, and the output names them: a draw record alone, for example,
	// cannot show who stands at the winners' entrant indices.
	ExitPartial = 4
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *Env, args []string) int
}

// Env is what a command may touch.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Environ is the environment as KEY=value strings (os.Environ).
	// Commands read their settings from it through internal/config, for
	// flag defaults only.
	Environ []string
}

func commands() []command {
	return []command{
		{"verify-draw", "verify a draw record from a file or the service", verifyDraw},
		{"monitor", "follow the public draw log and check it and the draws it names", monitor},
		{"export", "stream a giveaway's participants as NDJSON or CSV", export},
		{"status", "show the service's health, and a giveaway's draw and counts", status},
		{"migrate", "apply the database schema (DATABASE_URL, or the embedded SQLite file)", migrate},
		{"version", "print the version", func(_ context.Context, env *Env, _ []string) int {
			fmt.Fprintln(env.Stdout, version.String())
			return ExitOK
		}},
	}
}

// Run runs participantctl with args (without the program name) and
// returns the exit code.
func Run(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "participantctl: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "participantctl: tools for the Telegive participant service.")
	fmt.Fprintln(w, "\nUsage: participantctl <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun participantctl <command> --help for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 success, 1 check failed, 2 usage error, 3 input unreadable,")
	fmt.Fprintln(w, "4 not fully verified (the checks that ran passed; the output names those that could not be made).")
}

// newFlags returns a flag set that prints its usage to env and does not
// exit the process.
func newFlags(env *Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: participantctl %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, mapping --help to success and errors to ExitUsage.
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK, false
		}
		return ExitUsage, false
	}
	return 0, true
}

// tokenFlag defines --token, the X-Service-Token to send, whose default is
// PARTICIPANT_SERVICE_TOKEN as internal/config reads it.
func tokenFlag(fs *flag.FlagSet, env *Env) (*string, error) {
	ctl, err := config.LoadCtl(env.Environ)
	return fs.String("token", ctl.ServiceToken, "X-Service-Token to send (default $PARTICIPANT_SERVICE_TOKEN)"), err
}
