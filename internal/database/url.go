package database

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// EnvURL is the environment variable that holds the connection URL when no flag sets it.
const EnvURL = "DATABASE_URL"

// URLSource names where a connection URL may come from, in order of precedence.
type URLSource struct {
	// Flag is the value of --database-url.
	Flag string
	// File is the value of --database-url-file: a file that holds the URL, such as a mounted
	// Secret key.
	File string
}

// ResolveURL returns the connection URL from the flag, then DATABASE_URL, then the file.
func ResolveURL(src URLSource) (string, error) {
	if src.Flag != "" {
		return src.Flag, nil
	}
	if env := os.Getenv(EnvURL); env != "" {
		return env, nil
	}
	if src.File == "" {
		return "", errors.New("no database URL: set --database-url, the DATABASE_URL environment variable " +
			"or --database-url-file")
	}
	data, err := os.ReadFile(src.File)
	if err != nil {
		return "", fmt.Errorf("read database URL file %q: %w", src.File, err)
	}
	url := strings.TrimSpace(string(data))
	if url == "" {
		return "", fmt.Errorf("database URL file %q is empty; write a postgres:// URL into it", src.File)
	}
	return url, nil
}
