package main

import (
	"context"
	"flag"
	"strconv"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/report"
)

const topDescription = `Prints the accounts with the highest storage, ingress, egress or traffic (ingress plus
egress), highest first, with the same columns as report plus the traffic. Accounts with equal
figures are ordered by account id. Ingress and egress are totals since the usage row was created,
so --since selects accounts by their last change but does not narrow the figures to that period.`

func runTop(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet(c.program+" top", flag.ContinueOnError)
	var common commonFlags
	common.bind(fs)
	var limitText, metricText string
	fs.StringVar(&limitText, "limit", "10", "maximum `number` of accounts to print, at least 1")
	fs.StringVar(&metricText, "by", string(report.MetricStorage),
		"`metric` to rank by: storage (bytes stored), ingress (bytes uploaded), egress (bytes downloaded) "+
			"or traffic (ingress plus egress)")
	if err := c.parseFlags(fs, topDescription, args); err != nil {
		return helpIsSuccess(err)
	}
	s, err := common.parse()
	if err != nil {
		return err
	}
	limit, err := strconv.ParseInt(limitText, 10, 64)
	if err != nil || limit < 1 {
		return usageErrorf("invalid --limit %q: use a whole number of accounts, at least 1", limitText)
	}
	metric, err := parseMetric(metricText)
	if err != nil {
		return err
	}

	var result report.Result
	err = readDatabase(ctx, common.databaseURL, func(db database.Querier) error {
		var err error
		result, err = report.Top(ctx, db, s.filter, s.defaults, metric, limit)
		return err
	})
	if err != nil {
		return err
	}
	return c.write(s.format, result, report.Columns{Traffic: true})
}

func parseMetric(value string) (report.Metric, error) {
	for _, metric := range report.Metrics {
		if string(metric) == value {
			return metric, nil
		}
	}
	return "", usageErrorf("invalid --by %q: use %s", value, joinNames(report.Metrics))
}
