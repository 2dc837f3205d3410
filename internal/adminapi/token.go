package adminapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// DefaultTokenReloadInterval is how often the token file is read again.
const DefaultTokenReloadInterval = 5 * time.Second

// maxTokenFileBytes bounds the read of the token file. A bearer token is far shorter.
const maxTokenFileBytes = 16 << 10

// minTokenBytes is the token length below which a warning is logged.
const minTokenBytes = 16

// TokenFile holds the SHA-256 digest of the admin token read from a file, such as a key of a
// mounted Secret, and reads the file again on a fixed interval. Reading the content each time
// follows Kubernetes' Secret updates, which swap a symbolic link instead of writing the file.
// While the file is missing, unreadable or empty no token is configured and every request is
// rejected.
type TokenFile struct {
	path     string
	interval time.Duration
	logger   logr.Logger

	digest atomic.Pointer[[sha256.Size]byte]

	// mu serialises reloads, so state changes are logged once each.
	mu        sync.Mutex
	lastState string
}

// NewTokenFile reads the token file once and returns a TokenFile that Run keeps up to date. A
// missing or empty file is not an error: the API then rejects every request until a token
// appears. interval 0 means DefaultTokenReloadInterval.
func NewTokenFile(path string, interval time.Duration, logger logr.Logger) *TokenFile {
	if interval <= 0 {
		interval = DefaultTokenReloadInterval
	}
	t := &TokenFile{path: path, interval: interval, logger: logger}
	t.Reload()
	return t
}

// Run reads the token file every interval until ctx ends.
func (t *TokenFile) Run(ctx context.Context) {
	ticker := time.NewTicker(t.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			t.Reload()
		}
	}
}

// Reload reads the token file now. Surrounding white space, such as the trailing newline of a
// file written by echo, is trimmed: net/http trims it from header values as well.
func (t *TokenFile) Reload() {
	t.mu.Lock()
	defer t.mu.Unlock()

	token, err := readTokenFile(t.path)
	if err != nil || len(token) == 0 {
		t.digest.Store(nil)
		t.logMissing(err)
		metricTokenConfigured.Set(0)
		return
	}
	digest := sha256.Sum256(token)
	old := t.digest.Swap(&digest)
	metricTokenConfigured.Set(1)
	if old != nil && *old == digest {
		return
	}
	state := "loaded"
	if old != nil {
		state = "changed"
	}
	t.lastState = state
	t.logger.Info("Admin token "+state, "path", t.path)
	if len(token) < minTokenBytes {
		t.logger.Info("Admin token is short; use a random token of at least 32 characters", "path", t.path,
			"length", len(token))
	}
}

// logMissing logs why no token is configured, once per reason.
func (t *TokenFile) logMissing(err error) {
	state := "empty"
	switch {
	case errors.Is(err, fs.ErrNotExist):
		state = "missing"
	case err != nil:
		state = "unreadable: " + err.Error()
	}
	if state == t.lastState {
		return
	}
	t.lastState = state
	t.logger.Info("Admin API rejects every request with 503 because the admin token file is "+state+
		"; write a token into it", "path", t.path)
}

// Configured reports whether a token is loaded.
func (t *TokenFile) Configured() bool { return t.digest.Load() != nil }

// Verify reports whether presented is the configured token. It compares SHA-256 digests in
// constant time, so the time taken does not depend on where the tokens differ or on their
// lengths. It returns false while no token is configured.
func (t *TokenFile) Verify(presented string) bool {
	want := t.digest.Load()
	if want == nil {
		return false
	}
	got := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

func readTokenFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxTokenFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxTokenFileBytes)
	}
	return bytes.TrimSpace(data), nil
}
