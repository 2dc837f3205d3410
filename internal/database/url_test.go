package database

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveURLPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "url")
	if err := os.WriteFile(file, []byte("postgres://file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvURL, "postgres://env")
	if got, _ := ResolveURL(URLSource{Flag: "postgres://flag", File: file}); got != "postgres://flag" {
		t.Errorf("flag: got %q", got)
	}
	if got, _ := ResolveURL(URLSource{File: file}); got != "postgres://env" {
		t.Errorf("env: got %q", got)
	}
	t.Setenv(EnvURL, "")
	if got, _ := ResolveURL(URLSource{File: file}); got != "postgres://file" {
		t.Errorf("file: got %q", got)
	}
}

func TestResolveURLErrors(t *testing.T) {
	t.Setenv(EnvURL, "")
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		src  URLSource
		want string
	}{
		"nothing set":  {URLSource{}, "set --database-url"},
		"missing file": {URLSource{File: "/nonexistent/url"}, "read database URL file"},
		"empty file":   {URLSource{File: empty}, "is empty"},
	}
	for name, tc := range cases {
		_, err := ResolveURL(tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}

func TestConnectHidesPassword(t *testing.T) {
	_, err := Connect(t.Context(), "postgres://user:secret@[bad")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Connect error %v must exist and must not contain the password", err)
	}
}
