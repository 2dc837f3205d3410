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

	var result report.Result
	err = readDatabase(ctx, common.databaseURL, func(db database.Querier) error {
		var err error
		result, err = report.List(ctx, db, s.filter, s.defaults)
		return err
	})
	if err != nil {
		return err
	}
	return c.write(s.format, result, report.Columns{})
}

// write prints the accounts to stdout. Warnings and the note on an empty table go to stderr, so
// a script that reads stdout gets only the report.
func (c *cli) write(format report.Format, result report.Result, columns report.Columns) error {
	if result.EmailsOmitted {
		fmt.Fprintf(c.stderr, "%s: warning: the database user may not read identity_account, so the "+
			"report has no e-mails. Grant SELECT on identity_account (id, payload) to include them.\n", c.program)
	}
	if err := report.Write(c.stdout, format, result.Accounts, columns); err != nil {
		return fmt.Errorf("write the output: %w", err)
	}
	if format == report.FormatTable && len(result.Accounts) == 0 {
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
