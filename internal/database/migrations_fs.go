package database

import "io/fs"

// migrationFS returns the embedded migrations with the migrations/ prefix removed.
func migrationFS() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // The folder is embedded at build time, so this cannot fail at run time.
	}
	return sub
}
