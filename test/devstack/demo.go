package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"xpod.dev/quota-operator/internal/testutil/kubetest"
	"xpod.dev/quota-operator/test/stack"
)

func applySamples(s *stack.Stack) error {
	out, err := s.Kubectl("apply", "-f", filepath.Join(kubetest.RepoRoot(), "config", "samples", "quota_v1alpha1_accountquota.yaml"))
	fmt.Print(string(out))
	if err != nil {
		return fmt.Errorf("apply the samples: %w", err)
	}
	return nil
}

// driveTraffic writes and reads a few resources through the enforcer: alice stores files,
// bob's read-only quota rejects a write with 413.
func driveTraffic(s *stack.Stack) error {
	requests := []struct {
		method, pod, path, contentType string
		size                           int
	}{
		{http.MethodPut, "alice", "notes/hello.ttl", "text/turtle", 0},
		{http.MethodPut, "alice", "photos/cat.bin", "application/octet-stream", 3 << 20},
		{http.MethodGet, "alice", "photos/cat.bin", "", 0},
		{http.MethodPut, "bob", "notes/denied.txt", "text/plain", 1024},
	}
	fmt.Println("\nSample traffic through the enforcer:")
	for _, r := range requests {
		status, err := send(s, r.method, s.Pods[r.pod].URL(r.path), r.contentType, r.size)
		if err != nil {
			return err
		}
		fmt.Printf("  %-4s %s -> %d\n", r.method, s.Pods[r.pod].URL(r.path), status)
	}
	return nil
}

func send(s *stack.Stack, method, url, contentType string, size int) (int, error) {
	var body io.Reader
	if method == http.MethodPut {
		if contentType == "text/turtle" {
			body = strings.NewReader("<#hello> <http://schema.org/text> \"Hello, Solid\" .\n")
		} else {
			body = bytes.NewReader(bytes.Repeat([]byte{'x'}, size))
		}
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func printQuotas(s *stack.Stack) error {
	out, err := s.Kubectl("get", "accountquotas", "-A", "-o", "wide")
	fmt.Printf("\n$ kubectl get accountquotas -A -o wide\n%s", out)
	return err
}

func printTryThis(s *stack.Stack, kubeconfig string) {
	alice := s.Pods["alice"]
	fmt.Printf(`
The stack is running. Try this in another shell:

  export KUBECONFIG=%[1]s
  alias kubectl=%[2]s

  # Upload through the enforcer and watch the figures move (status refreshes every 2s):
  curl -X PUT -H 'Content-Type: text/plain' --data-binary @/etc/services %[3]s
  kubectl get accountquotas -A -w

  # Lower alice's storage limit and see the next write rejected with 413:
  kubectl patch accountquota alice --type merge -p '{"spec":{"storageLimit":"1Ki"}}'
  curl -i -X PUT -H 'Content-Type: text/plain' --data-binary @/etc/services %[3]s

  # Throttle downloads to 256 KiB/s:
  kubectl edit accountquota alice

  # The Quota Admin API:
  curl -H 'Authorization: Bearer %[4]s' %[5]s/api/quota/alice
  curl -X PUT -H 'Authorization: Bearer %[4]s' -H 'Content-Type: application/json' \
       -d '{"storageLimitBytes": 1073741824}' %[5]s/api/quota/dave

  # The usage tables:
  psql '%[6]s' -c 'SELECT * FROM identity_account_usage'

Press Ctrl-C to stop everything.
`, kubeconfig, s.KubectlPath, alice.URL("notes/services.txt"), s.AdminToken, s.AdminURL, s.DatabaseURL)
}
