package database

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUnavailable reports whether err means the database could not be reached or is not accepting
// work right now, as opposed to a statement that the server rejected. Every error that did not
// come from the server (a refused connection, a timeout, a closed pool or a dropped connection)
// counts as unavailable.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	// Class 08 is connection exceptions, 57P01-57P03 a server shutting down or starting, and
	// 53300 too many connections.
	code := pgErr.Code
	return len(code) == 5 && (code[:2] == "08" || code[:4] == "57P0" || code == "53300")
}
