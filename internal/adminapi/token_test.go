package adminapi

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

func TestTokenFileTrimsWhiteSpace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("  abc-token\r\n"), 0o600); err != nil {
		t.Fatalf("write token: %v", err)
	}
	tokens := NewTokenFile(path, time.Hour, logr.Discard())
	if !tokens.Verify("abc-token") {
		t.Error("Verify(abc-token) = false for a file with surrounding white space")
	}
	if tokens.Verify("abc-token\n") {
		t.Error("Verify accepted the token with its newline")
	}
	if tokens.Verify("") {
		t.Error("Verify accepted an empty token")
	}
}

func TestTokenFileRejectsOversizeFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token")
	big := make([]byte, maxTokenFileBytes+1)
	for i := range big {
		big[i] = 'a'
	}
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatalf("write token: %v", err)
	}
	tokens := NewTokenFile(path, time.Hour, logr.Discard())
	if tokens.Configured() {
		t.Error("a token file over the size limit counts as configured")
	}
	if tokens.Verify(string(big)) {
		t.Error("Verify accepted the content of an oversize token file")
	}
}

// BenchmarkTokenVerify measures Verify for tokens that differ from the configured one in the first
// byte, in the last byte or in length. Verify hashes the presented token and compares fixed-size
// SHA-256 digests in constant time, so its time depends on the presented token's length only, not
// on where it differs from the configured token.
func BenchmarkTokenVerify(b *testing.B) {
	path := filepath.Join(b.TempDir(), "token")
	if err := os.WriteFile(path, []byte(testToken), 0o600); err != nil {
		b.Fatalf("write token: %v", err)
	}
	tokens := NewTokenFile(path, time.Hour, logr.Discard())
	for _, c := range []struct{ name, token string }{
		{"match", testToken},
		{"first byte differs", "X" + testToken[1:]},
		{"last byte differs", testToken[:len(testToken)-1] + "X"},
		{"shorter", testToken[:4]},
		{"empty", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				tokens.Verify(c.token)
			}
		})
	}
}
