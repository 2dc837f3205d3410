// Command quotactl prints per-account storage and bandwidth usage from the PostgreSQL database
// that the quota operator shares with the Solid pod server. It only reads.
//
// Installed on PATH as kubectl-quota, it works as the kubectl plugin "kubectl quota" and names
// itself so in help and error messages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// pluginBinary is the file name under which kubectl runs the binary as "kubectl quota".
const pluginBinary = "kubectl-quota"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	app := &cli{program: programName(os.Args[0]), stdout: os.Stdout, stderr: os.Stderr}
	code := app.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// programName returns the name that help and errors show: "kubectl quota" when the binary runs
// as the kubectl plugin, and "quotactl" otherwise.
func programName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if base == pluginBinary {
		return "kubectl quota"
	}
	return "quotactl"
}

// cli is one run of the program with its name and output streams.
type cli struct {
	program string
	stdout  io.Writer
	stderr  io.Writer
}

// command is a subcommand such as report.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
}

var commands = []command{
	{"report", "print usage, effective limits and e-mail of every account", runReport},
	{"top", "print the accounts with the most storage, ingress, egress or traffic", runTop},
}

// run executes the command line and returns the exit code: 0 on success, 2 for an invalid
// command line and 1 for any other failure.
func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		c.printUsage(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		c.printUsage(c.stdout)
		return exitOK
	}
	for _, cmd := range commands {
		if cmd.name == name {
			return c.exitCode(cmd.name, cmd.run(ctx, c, args[1:]))
		}
	}
	return c.exitCode("", usageErrorf("unknown command %q: use %s", name, commandNames()))
}

// exitCode prints err, if any, and returns the exit code for it.
func (c *cli) exitCode(commandName string, err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(c.stderr, "%s: %v\n", c.program, err)
	var usage *usageError
	if !errors.As(err, &usage) {
		return exitRuntime
	}
	helpCommand := c.program + " --help"
	if commandName != "" {
		helpCommand = c.program + " " + commandName + " --help"
	}
	fmt.Fprintf(c.stderr, "Run '%s' for usage.\n", helpCommand)
	return exitUsage
}

func (c *cli) printUsage(w io.Writer) {
	fmt.Fprintf(w, "%s reads per-account storage and bandwidth usage from the quota operator's PostgreSQL database.\n\n",
		c.program)
	fmt.Fprintln(w, "Usage:")
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, cmd := range commands {
		fmt.Fprintf(tw, "  %s %s [flags]\t%s\n", c.program, cmd.name, cmd.summary)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nRun '%s COMMAND --help' for the flags of a command.\n", c.program)
}

func commandNames() string {
	names := make([]string, len(commands))
	for i, cmd := range commands {
		names[i] = cmd.name
	}
	return strings.Join(names, " or ")
}

// usageError is an invalid command line: an unknown command or flag, an invalid flag value or
// a missing database URL. The program exits with code 2 for it.
type usageError struct {
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}
