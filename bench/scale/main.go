// Command scale measures the manager at scale on a real API server (envtest) and PostgreSQL.
// It applies many AccountQuotas with as many usage rows. It reports how long the rows take to
// appear, how long a poll pass takes with 1% of the usage rows changed, how many status writes
// hit unchanged AccountQuotas, and the manager's memory. Run it through bench/scale.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

type options struct {
	count          int
	applyWorkers   int
	statusInterval time.Duration
	managerFlags   string
}

func main() {
	var o options
	flag.IntVar(&o.count, "count", 10000, "number of AccountQuotas and usage rows")
	flag.IntVar(&o.applyWorkers, "apply-workers", 16, "parallel creates against the API server")
	flag.DurationVar(&o.statusInterval, "status-interval", 10*time.Second, "the manager's --status-interval")
	flag.StringVar(&o.managerFlags, "manager-flags", "", "extra flags for the manager, separated by spaces")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	env, err := startEnvironment(ctx)
	if err != nil {
		return err
	}
	defer env.stop()

	if err := env.seedUsage(ctx, o.count); err != nil {
		return err
	}
	mgr, err := startManager(env, o.statusInterval, strings.Fields(o.managerFlags))
	if err != nil {
		return err
	}
	defer mgr.stop()

	var r report
	r.count = o.count
	if err := measureApply(ctx, env, o, &r); err != nil {
		return err
	}
	if err := measureChangedPass(ctx, env, mgr, o, &r); err != nil {
		return err
	}
	r.rssBytes, r.peakRSSBytes, err = mgr.memory()
	if err != nil {
		return err
	}
	r.print(os.Stdout)
	return nil
}
