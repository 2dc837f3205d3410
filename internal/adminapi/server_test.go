package adminapi

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// startServer runs f's handler in a Server on 127.0.0.1 and returns its address. The server
// stops when the test ends.
func startServer(t *testing.T, f *fixture, certFile, keyFile string) string {
	t.Helper()
	listening := make(chan net.Addr, 1)
	s := &Server{Addr: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile, Handler: f.server.Config.Handler,
		Tokens: f.tokens, Logger: f.logs.logger(), listening: listening}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with %v", err)
		}
	})
	select {
	case addr := <-listening:
		return addr.String()
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start within 10s")
	}
	return ""
}

// writeKubernetesSecretVolume lays out a token the way the kubelet mounts a Secret: the file is a
// symbolic link through ..data, which points at a timestamped folder. Rotation replaces ..data.
func writeKubernetesSecretVolume(t *testing.T, dir, version, token string) {
	t.Helper()
	versionDir := filepath.Join(dir, "..version-"+version)
	if err := os.Mkdir(versionDir, 0o755); err != nil {
		t.Fatalf("create %s: %v", versionDir, err)
	}
	if err := os.WriteFile(filepath.Join(versionDir, "token"), []byte(token), 0o600); err != nil {
		t.Fatalf("write token: %v", err)
	}
	tmpLink := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(versionDir), tmpLink); err != nil {
		t.Fatalf("link ..data_tmp: %v", err)
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, "..data")); err != nil {
		t.Fatalf("swap ..data: %v", err)
	}
	tokenLink := filepath.Join(dir, "token")
	if _, err := os.Lstat(tokenLink); os.IsNotExist(err) {
		if err := os.Symlink(filepath.Join("..data", "token"), tokenLink); err != nil {
			t.Fatalf("link token: %v", err)
		}
	}
}

// TestTokenRotation rotates the token in a Secret-style volume while the server runs: the new
// token is accepted and the old one rejected within the reload interval, with no restart.
func TestTokenRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	dir := t.TempDir()
	const oldToken, newToken = "old-token-0123456789abcdef0123", "new-token-0123456789abcdef0123"
	writeKubernetesSecretVolume(t, dir, "1", oldToken+"\n")
	f.tokens = NewTokenFile(filepath.Join(dir, "token"), 50*time.Millisecond, f.logs.logger())
	handler, err := NewHandler(Options{Pool: f.db, Defaults: testDefaults, Owners: staticOwners{}, Tokens: f.tokens,
		Logger: f.logs.logger()})
	if err != nil {
		t.Fatalf("create handler: %v", err)
	}
	f.server.Config.Handler = handler
	addr := startServer(t, f, "", "")

	get := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/quota/acct-001", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		return res.StatusCode
	}
	if status := get(oldToken); status != http.StatusOK {
		t.Fatalf("old token before rotation: status = %d, want 200", status)
	}
	if status := get(newToken); status != http.StatusUnauthorized {
		t.Fatalf("new token before rotation: status = %d, want 401", status)
	}

	writeKubernetesSecretVolume(t, dir, "2", newToken+"\n")
	deadline := time.Now().Add(5 * time.Second)
	for get(newToken) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("new token not accepted within 5s of the rotation")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status := get(oldToken); status != http.StatusUnauthorized {
		t.Errorf("old token after rotation: status = %d, want 401", status)
	}
	if lines := f.logs.withMessage("Admin token changed"); len(lines) != 1 {
		t.Errorf("got %d 'Admin token changed' log lines, want 1", len(lines))
	}
	for _, line := range f.logs.all() {
		if strings.Contains(fmt.Sprint(line), oldToken) || strings.Contains(fmt.Sprint(line), newToken) {
			t.Errorf("a log line contains the token: %v", line)
		}
	}
}

func TestServerServesTLS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	certFile, keyFile, pool := writeSelfSignedCert(t)
	addr := startServer(t, f, certFile, keyFile)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/api/quota/acct-001", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS GET: %v", err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("HTTPS status = %d, want 200", res.StatusCode)
	}
	if res.TLS == nil || res.TLS.Version < tls.VersionTLS12 {
		t.Errorf("connection state = %+v, want TLS 1.2 or later", res.TLS)
	}

	plain, err := http.Get("http://" + addr + "/api/quota/acct-001")
	if err == nil {
		_ = plain.Body.Close()
		if plain.StatusCode == http.StatusOK {
			t.Error("plain HTTP on the TLS port returned 200")
		}
	}
}

func TestServerRunsOnEveryReplica(t *testing.T) {
	t.Parallel()
	if (&Server{}).NeedLeaderElection() {
		t.Error("NeedLeaderElection = true, want false so that every replica serves the API")
	}
}

func TestServerRejectsHalfTLSConfig(t *testing.T) {
	t.Parallel()
	s := &Server{Addr: "127.0.0.1:0", CertFile: "cert.pem", Handler: http.NotFoundHandler(),
		Tokens: NewTokenFile("missing", time.Hour, logr.Discard())}
	if err := s.Start(context.Background()); err == nil {
		t.Error("Start with a certificate and no key returned nil, want an error")
	}
}

// TestDeclaredOversizeBodyIsNotRead sends only the headers of a request that declares a 10 MiB
// body. The 413 must arrive without the body, without 100 Continue, and the connection must
// close.
func TestDeclaredOversizeBodyIsNotRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	addr := startServer(t, f, "", "")

	for _, expect := range []string{"", "Expect: 100-continue\r\n"} {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "PUT /api/quota/acct-001 HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n", addr, testToken, 10<<20, expect)

		reader := bufio.NewReader(conn)
		res, err := http.ReadResponse(reader, nil)
		if err != nil {
			t.Fatalf("read response (%q): %v", expect, err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%q: status = %d, want 413: %s", expect, res.StatusCode, body)
		}
		if !strings.Contains(string(body), CodeBodyTooLarge) {
			t.Errorf("%q: body = %s, want %s", expect, body, CodeBodyTooLarge)
		}
		if !res.Close {
			t.Errorf("%q: response keeps the connection open; it should close it", expect)
		}
		if _, err := reader.ReadByte(); err != io.EOF {
			t.Errorf("%q: connection still open after the 413 (read error %v)", expect, err)
		}
		_ = conn.Close()
	}
}

// TestChunkedOversizeBodyIs413 streams a body without Content-Length past the limit.
func TestChunkedOversizeBodyIs413(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	body := io.MultiReader(strings.NewReader(`{"storageLimitBytes": 1`),
		strings.NewReader(strings.Repeat(" ", 2*MaxBodyBytes)), strings.NewReader(`}`))
	header := http.Header{"Authorization": {"Bearer " + testToken}, "Content-Type": {"application/json"}}
	req, _ := http.NewRequest(http.MethodPut, f.server.URL+"/api/quota/acct-001", io.NopCloser(body))
	req.Header = header
	req.ContentLength = -1 // Unknown length, so the client sends the body chunked.
	res, err := f.server.Client().Do(req)
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	data, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413: %s", res.StatusCode, data)
	}
	if _, exists := f.row("acct-001"); exists {
		t.Error("an oversize PUT wrote a row")
	}
}

func writeSelfSignedCert(t *testing.T) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "quota-admin-test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatalf("write certificate: %v", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatalf("write key: %v", err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
