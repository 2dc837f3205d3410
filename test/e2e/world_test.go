package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"k8s.io/apimachinery/pkg/types"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/test/stack"
)

// world is the state the steps share.
type world struct {
	t    *testing.T
	s    *stack.Stack
	pool *pgxpool.Pool
	http *http.Client
}

func (w *world) connectDatabase(url string) {
	pool, err := database.Connect(context.Background(), url)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(pool.Close)
	w.pool = pool
	w.http = &http.Client{Timeout: 2 * time.Minute}
}

// usage is one usage row's counters.
type usage struct{ storage, ingress, egress int64 }

func (w *world) accountUsage(account string) usage {
	w.t.Helper()
	var u usage
	err := w.pool.QueryRow(context.Background(), `SELECT storage_bytes, ingress_bytes, egress_bytes
		FROM identity_account_usage WHERE account_id = $1`, account).Scan(&u.storage, &u.ingress, &u.egress)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		w.t.Fatalf("read usage of %s: %v", account, err)
	}
	return u
}

// settledUsage waits until the account's usage row stops changing, so pending flushes are in.
func (w *world) settledUsage(account string) usage {
	w.t.Helper()
	last := w.accountUsage(account)
	for range 20 {
		time.Sleep(1500 * time.Millisecond)
		next := w.accountUsage(account)
		if next == last {
			return next
		}
		last = next
	}
	w.t.Fatalf("usage of %s kept changing: %+v", account, last)
	return last
}

func (w *world) row(account string) (database.Quota, bool) {
	q, err := database.GetQuota(context.Background(), w.pool, account)
	if errors.Is(err, database.ErrNotFound) {
		return q, false
	}
	if err != nil {
		w.t.Fatalf("read quota row of %s: %v", account, err)
	}
	return q, true
}

func (w *world) waitFor(what string, timeout time.Duration, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	w.t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

func (w *world) kubectl(args ...string) string {
	w.t.Helper()
	out, err := w.s.Kubectl(args...)
	if err != nil {
		w.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (w *world) quota(name string) *quotav1.AccountQuota {
	w.t.Helper()
	var aq quotav1.AccountQuota
	if err := w.s.Client.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: name}, &aq); err != nil {
		w.t.Fatalf("get AccountQuota %s: %v", name, err)
	}
	return &aq
}

// put uploads body to a pod path through the enforcer and returns the status code.
func (w *world) put(pod, path string, body []byte) int {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodPut, w.s.Pods[pod].URL(path), bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	return w.do(req, nil)
}

// get downloads a pod path through the enforcer.
func (w *world) get(pod, path string) (int, []byte) {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.s.Pods[pod].URL(path), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	var body bytes.Buffer
	status := w.do(req, &body)
	return status, body.Bytes()
}

func (w *world) do(req *http.Request, body io.Writer) int {
	w.t.Helper()
	resp, err := w.http.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if body == nil {
		body = io.Discard
	}
	if _, err := io.Copy(body, resp.Body); err != nil {
		w.t.Fatalf("read %s %s: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode
}

// admin sends a request to the Quota Admin API with the admin token.
func (w *world) admin(method, path, body string) (int, string) {
	w.t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.s.AdminURL+path, reader)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.s.AdminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	var out bytes.Buffer
	status := w.do(req, &out)
	return status, out.String()
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func limitString(v *int64) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(*v)
}
