package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"xpod.dev/quota-operator/internal/database"
)

// readDatabase connects with the URL from the flags, DATABASE_URL or the URL file and runs read
// in one read-only transaction, so every query reads the same snapshot and nothing is written.
func readDatabase(ctx context.Context, source database.URLSource, read func(database.Querier) error) error {
	if source.Flag == "" && source.File == "" && !environmentURL() {
		return usageErrorf("no database URL: set --database-url, the %s environment variable or "+
			"--database-url-file", database.EnvURL)
	}
	url, err := database.ResolveURL(source)
	if err != nil {
		return err
	}
	config, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may repeat the URL with its password, so it is not shown.
		return usageErrorf("invalid database URL from %s: expected postgres://user:password@host:port/db?options "+
			"or a key=value connection string", urlOrigin(source))
	}
	pool, err := database.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()

	tx, err := pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return connectError(config.ConnConfig, err)
	}
	// The transaction only reads, so ending it with a rollback loses nothing.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	return read(tx)
}

// urlOrigin names where ResolveURL took the URL from, in its order of precedence.
func urlOrigin(source database.URLSource) string {
	switch {
	case source.Flag != "":
		return "--database-url"
	case environmentURL():
		return database.EnvURL
	}
	return fmt.Sprintf("--database-url-file %q", source.File)
}

// connectError describes a failed connection with the server's address, database and user.
// The password is never part of the message: pgx does not print it, and any copy of it is
// masked in case a future pgx version does.
func connectError(config *pgx.ConnConfig, err error) error {
	cause := err
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) && connect.Unwrap() != nil {
		cause = connect.Unwrap()
	}
	// pgx tries each address, and with sslmode=prefer TLS and then plain TCP, so the same
	// failure can repeat on several lines.
	detail := strings.Join(uniqueLines(cause.Error()), "; ")
	if config.Password != "" {
		detail = strings.ReplaceAll(detail, config.Password, "xxxxx")
	}
	address := net.JoinHostPort(config.Host, strconv.Itoa(int(config.Port)))
	if strings.HasPrefix(config.Host, "/") {
		address = fmt.Sprintf("socket %s, port %d", config.Host, config.Port)
	}
	return fmt.Errorf("cannot connect to PostgreSQL at %s (database %q, user %q): %s. Check that the server "+
		"is running and reachable from here, and that the database URL names the right host, port, database "+
		"and user", address, config.Database, config.User, detail)
}

func uniqueLines(text string) []string {
	var lines []string
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	return lines
}
