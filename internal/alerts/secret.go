package alerts

import (
	"fmt"
	"os"
	"strings"
)

// FileSecret returns a function that reads the HMAC key from path on every call, so that a
// rotated Secret volume takes effect without a restart. Surrounding whitespace is trimmed.
func FileSecret(path string) func() ([]byte, error) {
	return func() ([]byte, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read alert webhook secret file %q: %w", path, err)
		}
		secret := strings.TrimSpace(string(data))
		if secret == "" {
			return nil, fmt.Errorf("alert webhook secret file %q is empty; write the shared HMAC key into it", path)
		}
		return []byte(secret), nil
	}
}
