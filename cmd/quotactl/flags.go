package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/report"
)

// commonFlags are the flags of every command, as given on the command line.
type commonFlags struct {
	databaseURL      database.URLSource
	output           string
	since            string
	defaultStorage   string
	defaultBandwidth string
}

// settings are the validated common flags.
type settings struct {
	format   report.Format
	filter   report.Filter
	defaults report.Defaults
}

func (f *commonFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.databaseURL.Flag, "database-url", "",
		"PostgreSQL connection `URL`, such as postgres://user:password@host:5432/db?sslmode=require. "+
			"When empty, the DATABASE_URL environment variable is used, then --database-url-file. "+
			"Other local users can see a URL given here in the process list, so prefer the variable or the file")
	fs.StringVar(&f.databaseURL.File, "database-url-file", "",
		"`file` that contains the PostgreSQL connection URL, such as a key of a mounted Secret; "+
			"read only when --database-url and DATABASE_URL are empty")
	formats := joinNames(report.Formats)
	fs.StringVar(&f.output, "output", string(report.FormatTable),
		"output `format`: "+formats+". table aligns columns and rounds sizes, such as 1.2Gi; "+
			"csv and json print exact byte counts")
	fs.StringVar(&f.output, "o", string(report.FormatTable), "short for --output")
	fs.StringVar(&f.since, "since", "",
		"list only accounts whose usage row was updated within this `duration` before the database server's "+
			"current time, such as 720h, 30d or 1d12h. Units: ms, s, m, h and d (24 hours). Empty lists every account. "+
			"Ingress and egress stay totals since the usage row was created")
	fs.StringVar(&f.defaultStorage, "default-storage-limit", "10Gi",
		"storage limit in bytes for accounts whose quota row sets none, as a Kubernetes `quantity` such as 10Gi; "+
			"use the value that the manager and the enforcer use")
	fs.StringVar(&f.defaultBandwidth, "default-bandwidth-limit", "10Mi",
		"bandwidth limit in bytes per second, per direction, for accounts whose quota row sets none, as a "+
			"Kubernetes `quantity` such as 10Mi; 0 means not throttled")
}

func (f *commonFlags) parse() (settings, error) {
	var s settings
	var err error
	if s.format, err = parseFormat(f.output); err != nil {
		return s, err
	}
	if s.filter.Since, err = parseSince(f.since); err != nil {
		return s, err
	}
	if s.defaults.StorageBytes, err = parseBytes("--default-storage-limit", f.defaultStorage); err != nil {
		return s, err
	}
	if s.defaults.BandwidthBps, err = parseBytes("--default-bandwidth-limit", f.defaultBandwidth); err != nil {
		return s, err
	}
	return s, nil
}

func parseFormat(value string) (report.Format, error) {
	for _, format := range report.Formats {
		if string(format) == value {
			return format, nil
		}
	}
	return "", usageErrorf("invalid --output %q: use %s", value, joinNames(report.Formats))
}

// maxDays is the largest number of days that time.Duration holds.
const maxDays = math.MaxInt64 / int64(24*time.Hour)

// parseSince parses a Go duration such as 720h, optionally led by whole days such as 30d or
// 1d12h. An empty value is 0, which disables the filter.
func parseSince(value string) (time.Duration, error) {
	if value == "" {
		return 0, nil
	}
	invalid := func(reason string) error {
		return usageErrorf("invalid --since %q: %s", value, reason)
	}
	const hint = "use a positive duration such as 720h, 30d or 1d12h"

	var days int64
	rest := value
	if before, after, found := strings.Cut(value, "d"); found && isDigits(before) {
		n, err := strconv.ParseInt(before, 10, 64)
		if err != nil || n > maxDays {
			return 0, invalid(fmt.Sprintf("at most %d days fit", maxDays))
		}
		days, rest = n, after
	}
	var remainder time.Duration
	if rest != "" {
		var err error
		if remainder, err = time.ParseDuration(rest); err != nil {
			return 0, invalid(hint)
		}
	}
	if remainder < 0 {
		return 0, invalid(hint)
	}
	total := time.Duration(days) * 24 * time.Hour
	if remainder > math.MaxInt64-total {
		return 0, invalid(fmt.Sprintf("at most %d days fit", maxDays))
	}
	total += remainder
	if total <= 0 {
		return 0, invalid(hint + "; leave --since out to list every account")
	}
	return total, nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// parseBytes parses a Kubernetes quantity of whole, non-negative bytes up to 2^63-1.
func parseBytes(flagName, value string) (int64, error) {
	q, err := resource.ParseQuantity(value)
	if err != nil {
		return 0, usageErrorf("invalid %s %q: use a quantity of bytes such as 10Gi or 10Mi", flagName, value)
	}
	n, ok := quotav1.QuantityBytes(&q)
	// ParseQuantity (k8s.io/apimachinery v0.37) caps a binary-suffix value above 2^63-1, such as
	// 8Ei, at 2^63-1. That odd number has no exact binary-suffix form, so this result means a cap.
	if ok && q.Format == resource.BinarySI && *n == math.MaxInt64 {
		ok = false
	}
	if !ok {
		return 0, usageErrorf("invalid %s %q: use a whole, non-negative number of bytes up to 2^63-1",
			flagName, value)
	}
	return *n, nil
}

// parseFlags parses args into fs and rejects positional arguments. For --help it prints the
// help to stdout and returns errHelpShown.
func (c *cli) parseFlags(fs *flag.FlagSet, description string, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.printCommandHelp(c.stdout, fs, description)
		return errHelpShown
	}
	if err != nil {
		return &usageError{err: rewordFlagError(err)}
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q: %s takes flags only", fs.Arg(0), fs.Name())
	}
	return nil
}

// rewordFlagError names the flag in an error of the flag package as help shows it, with two
// dashes. Errors in another form are returned as they are.
func rewordFlagError(err error) error {
	message := err.Error()
	if name, found := strings.CutPrefix(message, "flag provided but not defined: -"); found {
		return fmt.Errorf("unknown flag --%s", name)
	}
	if name, found := strings.CutPrefix(message, "flag needs an argument: -"); found {
		return fmt.Errorf("missing value for --%s", name)
	}
	return err
}

// errHelpShown ends a command after its help was printed on request.
var errHelpShown = errors.New("help shown")

// shortFlags maps a flag to its one-letter alias, which help shows on the same line.
var shortFlags = map[string]string{"output": "o"}

// printCommandHelp prints the command's description and every flag with its default.
func (c *cli) printCommandHelp(w io.Writer, fs *flag.FlagSet, description string) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\n%s\n\nFlags:\n", fs.Name(), description)
	aliases := map[string]bool{}
	for _, short := range shortFlags {
		aliases[short] = true
	}
	fs.VisitAll(func(f *flag.Flag) {
		if aliases[f.Name] {
			return
		}
		valueName, usage := flag.UnquoteUsage(f)
		names := "--" + f.Name
		if short, ok := shortFlags[f.Name]; ok {
			names = "-" + short + ", " + names
		}
		if f.DefValue != "" {
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, "  %s %s\n", names, strings.ToUpper(valueName))
		for _, line := range wrapWords(usage, helpWidth-len(helpIndent)) {
			fmt.Fprintln(w, helpIndent+line)
		}
	})
}

// Layout of the flag descriptions in help.
const (
	helpWidth  = 100
	helpIndent = "        "
)

// wrapWords breaks text into lines of at most width characters, except for single longer words.
func wrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// joinNames lists names as "a, b or c".
func joinNames[T ~string](names []T) string {
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = string(name)
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// environmentURL reports whether DATABASE_URL is set.
func environmentURL() bool {
	return os.Getenv(database.EnvURL) != ""
}
