// Package cli is decnet's command line: one cobra command per user action. It
// parses flags, calls the package that does the work and prints the result (a table
// for people, --json for scripts). Exit codes are stable (see ExitCode*).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"decnet/internal/config"
	"decnet/internal/event"
)

// Exit codes scripts can rely on.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // the operation failed (engine, network, I/O)
	ExitUsage   = 2 // bad flags, arguments or configuration: fix the input
	ExitPrereq  = 3 // a prerequisite is missing: root, Docker, the lab
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error  { return &exitError{ExitUsage, err} }
func prereqErr(err error) error { return &exitError{ExitPrereq, err} }

// Main runs decnet with args and returns the process exit code.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, os.Stdout, os.Stderr)
}

// Run runs decnet with args, writing to stdout and stderr, and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	// Errors cobra reports before a command runs (unknown command, bad flags or
	// arguments) are usage errors.
	started := false
	root.PersistentPreRun = func(*cobra.Command, []string) { started = true }
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "decnet: "+event.SafeTerminal(err.Error()))
	var ee *exitError
	var ce *config.Error
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ce):
		return ExitUsage
	case !started:
		return ExitUsage
	}
	return ExitFailure
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "decnet",
		Short: "DECNET: a deception network of fake machines (deckies) on your LAN",
		Long: `DECNET puts a fleet of fake machines ("deckies") on a LAN. Each decky has its own MAC, IP,
hostname, OS-like TCP/IP behaviour and honeypot services. Anything that touches a decky is an
attacker: every interaction becomes an RFC 5424 event.

Try it safely on an isolated virtual LAN:
  sudo decnet lab up
  sudo decnet deploy --interface decnet-lan0 --deckies 3 --services ssh,http
  sudo decnet lab exec -- nmap -sV 10.47.0.0/24
  sudo decnet teardown --all && sudo decnet lab down

Exit codes: 0 success, 1 operation failed, 2 bad usage or configuration, 3 missing prerequisite
(root, Docker, the lab).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see `%s --help`)", err, c.CommandPath())
	})
	root.PersistentFlags().String("state-dir", "", "directory holding decnet-state.json and per-decky files (env DECNET_STATE_DIR, default /var/lib/decnet)")
	root.AddCommand(
		newDeployCmd(),
		newStatusCmd(),
		newTeardownCmd(),
		newServicesCmd(),
		newArchetypesCmd(),
		newDistrosCmd(),
		newLabCmd(),
		newServeCmd(),
		newHoldCmd(),
	)
	for _, mk := range registered {
		root.AddCommand(mk())
	}
	return root
}

// registered holds commands that files of this package add in init() (the pipeline
// commands), so each lives in its own file without editing this one.
var registered []func() *cobra.Command

func register(mk func() *cobra.Command) { registered = append(registered, mk) }
