package main

import (
	"context"
	"flag"
	"fmt"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/report"
)

const reportDescription = `Prints one row per account of identity_account_usage, ordered by account id: storage,
ingress and egress bytes, the effective storage and bandwidth limits with their source (custom
when the account's identity_account_quota row sets the limit, default otherwise), the storage used
as a percentage of its limit, and the time of the last usage change in UTC. The e-mail comes from
Xpod's identity_account table. When that table or the address is missing, the table prints
<none>, CSV an empty field and JSON null. Ingress and egress are totals since the usage row was
created.`

func runReport(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet(c.program+" report", flag.ContinueOnError)
	var common commonFlags
	common.bind(fs)
	if err := c.parseFlags(fs, reportDescription, args); err != nil {
		return helpIsSuccess(err)
	}
	s, err := common.parse()
	if err != nil {
		return err
	}

	var accounts []report.Account
	err = readDatabase(ctx, common.databaseURL, func(db database.Querier) error {
		var err error
		accounts, err = report.List(ctx, db, s.filter, s.defaults)
		return err
	})
	if err != nil {
		return err
	}
	return c.write(s.format, accounts, report.Columns{})
}

// write prints the accounts to stdout. An empty table gets a note on stderr, so a script that
// reads stdout gets only the header.
func (c *cli) write(format report.Format, accounts []report.Account, columns report.Columns) error {
	if err := report.Write(c.stdout, format, accounts, columns); err != nil {
		return fmt.Errorf("write the output: %w", err)
	}
	if format == report.FormatTable && len(accounts) == 0 {
		fmt.Fprintln(c.stderr, "No accounts found.")
	}
	return nil
}

// helpIsSuccess turns the end of a command after --help into success.
func helpIsSuccess(err error) error {
	if err == errHelpShown {
		return nil
	}
	return err
}
