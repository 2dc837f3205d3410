// Package solidtest runs a real Community Solid Server (CSS) for tests. It installs the version
// pinned in hack/solid-server.sh and starts it on a free port of 127.0.0.1 with a temporary data
// folder. It creates accounts with pods through the CSS account API and measures the storage a
// pod holds.
//
// A test that needs its own server calls Start. Tests of one package can share a server through
// Shared (or StartShared from TestMain). Both skip the test when Node.js is not installed and fail
// it when CSS cannot be installed or started.
package solidtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the CSS version that hack/solid-server.sh installs.
const Version = "7.2.0"

// ErrNodeMissing is returned when Node.js is not on PATH, so CSS cannot run at all.
var ErrNodeMissing = errors.New("Node.js is not installed (node is not on PATH)")

// Layout selects how CSS maps pods to URLs.
type Layout int

const (
	// PathLayout puts pod "alice" at BASE/alice/, as CSS does by default.
	PathLayout Layout = iota
	// SubdomainLayout puts pod "alice" at http://alice.<base host>/, so the base URL needs a host
	// name such as localhost rather than an IP address.
	SubdomainLayout
)

// Options configures a server. The zero value starts CSS with path-based pods on
// http://127.0.0.1:PORT/.
type Options struct {
	// Layout selects path-based (default) or subdomain pods.
	Layout Layout
	// BaseURL is the URL that CSS uses for its own resources and expects in the Host (or
	// X-Forwarded-Host) header of every request. Set it to the address of a proxy in front of
	// CSS. It must end with "/". Empty means http://127.0.0.1:PORT/ for PathLayout and
	// http://localhost:PORT/ for SubdomainLayout.
	BaseURL string
	// LogLevel is the CSS log level (error, warn, info, verbose, debug); empty means info.
	LogLevel string
	// StartTimeout bounds the wait for CSS to become ready after its process starts. Zero
	// means two minutes.
	StartTimeout time.Duration
}

// Server is a running CSS process.
type Server struct {
	// BaseURL is the URL CSS uses for its own resources, ending with "/".
	BaseURL string
	// Addr is the host:port that CSS listens on, always on 127.0.0.1.
	Addr string
	// DataDir is the folder of the CSS file backend. Pod "alice" is stored in DataDir/alice.
	DataDir string
	// LogPath is the file that receives the CSS output.
	LogPath string

	layout  Layout
	client  *http.Client
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	tempDir string // removed by Stop when the server created it

	stopOnce sync.Once
	mu       sync.Mutex
	podCount int
}

// Start starts a CSS server for the test with default options and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a CSS server for the test with opts and stops it when the test ends. It skips
// the test when Node.js is missing and fails it when CSS cannot be installed or started.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	dir := t.TempDir()
	srv, err := start(opts, dir)
	if errors.Is(err, ErrNodeMissing) {
		t.Skipf("skipping: this test runs Community Solid Server, which needs Node.js 18 or newer: %v", err)
	}
	if err != nil {
		t.Fatalf("start Community Solid Server: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Community Solid Server log (%s), last lines:\n%s", srv.LogPath, tailFile(srv.LogPath, 60))
		}
		srv.Stop()
	})
	return srv
}

// StartShared starts a CSS server outside any test, for TestMain. The returned function stops the
// server and removes its data folder. The error wraps ErrNodeMissing when Node.js is missing.
func StartShared(opts Options) (*Server, func(), error) {
	dir, err := os.MkdirTemp("", "xpod-quota-css-")
	if err != nil {
		return nil, func() {}, fmt.Errorf("create temporary folder for Community Solid Server: %w", err)
	}
	srv, err := start(opts, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, func() {}, err
	}
	srv.tempDir = dir
	return srv, srv.Stop, nil
}

// Shared starts one server on first use and returns it to every test of a package that calls
// Server, so a package pays the CSS start-up once. Declare it as a package variable and call Stop from
// TestMain after m.Run.
type Shared struct {
	// Options configures the server. Set it before the first call to Server.
	Options Options

	once   sync.Once
	server *Server
	err    error
}

// Server returns the shared server, starting it on the first call. It skips the test when
// Node.js is missing and fails it when CSS cannot be installed or started.
func (s *Shared) Server(t testing.TB) *Server {
	t.Helper()
	s.once.Do(func() {
		s.server, _, s.err = StartShared(s.Options)
	})
	if errors.Is(s.err, ErrNodeMissing) {
		t.Skipf("skipping: this test runs Community Solid Server, which needs Node.js 18 or newer: %v", s.err)
	}
	if s.err != nil {
		t.Fatalf("start shared Community Solid Server: %v", s.err)
	}
	return s.server
}

// Stop stops the shared server if it was started.
func (s *Shared) Stop() {
	if s.server != nil {
		s.server.Stop()
	}
}

// Client returns an HTTP client that sends every request to this server's address, whatever the
// host in the URL, so URLs under BaseURL (or a pod subdomain) reach CSS directly even when
// BaseURL names a proxy. It leaves response bodies uncompressed so their sizes are exact.
func (s *Server) Client() *http.Client {
	return s.client
}

// PodURL returns the base URL that CSS gives a pod called name in this server's layout.
func (s *Server) PodURL(name string) string {
	base, _ := url.Parse(s.BaseURL)
	if s.layout == SubdomainLayout {
		return base.Scheme + "://" + name + "." + base.Host + base.Path
	}
	return s.BaseURL + name + "/"
}

// Stop stops CSS and waits for its process to end. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.terminate()
		s.client.CloseIdleConnections()
		if s.tempDir != "" {
			_ = os.RemoveAll(s.tempDir)
		}
	})
}

func (s *Server) terminate() {
	select {
	case <-s.exited:
		return
	default:
	}
	// The process leads its own process group (Setpgid), so the signal also reaches anything
	// node started.
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
		return
	case <-time.After(15 * time.Second):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-s.exited
}

var errPortInUse = errors.New("port already in use")

// start installs CSS if needed and starts it with its data and log under dir. A port that another
// process took between the free-port probe and the CSS start is retried with a new port.
func start(opts Options, dir string) (*Server, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return nil, ErrNodeMissing
	}
	script, err := findScript()
	if err != nil {
		return nil, err
	}
	if err := install(script); err != nil {
		return nil, err
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		attemptDir := filepath.Join(dir, "css-"+strconv.Itoa(attempt))
		srv, err := launch(script, opts, port, attemptDir)
		if errors.Is(err, errPortInUse) && attempt < attempts {
			continue
		}
		return srv, err
	}
}

// findScript locates hack/solid-server.sh by walking up from the working directory, which go test
// sets to the package folder.
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find hack/solid-server.sh: %w", err)
	}
	for {
		candidate := filepath.Join(dir, "hack", "solid-server.sh")
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("hack/solid-server.sh not found in the working directory or any parent: run the tests from inside the repository")
		}
		dir = parent
	}
}

// install runs "solid-server.sh install", which returns at once when CSS is already installed
// and otherwise runs npm install (about 40 s with a warm npm cache).
func install(script string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", script, "install")
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("install Community Solid Server %s with %s install: %w\n%s", Version, script, err, lastLines(stderr.String(), 40))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func defaultBaseURL(layout Layout, port int) string {
	if layout == SubdomainLayout {
		return "http://localhost:" + strconv.Itoa(port) + "/"
	}
	return "http://127.0.0.1:" + strconv.Itoa(port) + "/"
}

func launch(script string, opts Options, port int, dir string) (*Server, error) {
	baseURL := opts.BaseURL
	if baseURL == "" {
		baseURL = defaultBaseURL(opts.Layout, port)
	}
	if err := checkBaseURL(baseURL); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create Community Solid Server data folder: %w", err)
	}
	logPath := filepath.Join(dir, "css.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create Community Solid Server log file: %w", err)
	}
	defer logFile.Close()

	layout := "path"
	if opts.Layout == SubdomainLayout {
		layout = "subdomain"
	}
	logLevel := opts.LogLevel
	if logLevel == "" {
		logLevel = "info"
	}
	cmd := exec.Command("bash", script, "start", strconv.Itoa(port), dataDir, baseURL)
	cmd.Env = append(os.Environ(), "SOLID_POD_LAYOUT="+layout, "SOLID_LOG_LEVEL="+logLevel)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = processAttributes()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s start: %w", script, err)
	}

	addr := "127.0.0.1:" + strconv.Itoa(port)
	srv := &Server{
		BaseURL: baseURL,
		Addr:    addr,
		DataDir: dataDir,
		LogPath: logPath,
		layout:  opts.Layout,
		client:  newClient(addr),
		cmd:     cmd,
		exited:  make(chan struct{}),
	}
	go func() {
		srv.waitErr = cmd.Wait()
		close(srv.exited)
	}()

	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	if err := srv.waitReady(timeout); err != nil {
		srv.Stop()
		return nil, err
	}
	return srv, nil
}

func checkBaseURL(baseURL string) error {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, "/") {
		return fmt.Errorf("invalid base URL %q: expected an absolute http(s) URL ending with /", baseURL)
	}
	return nil
}

// waitReady polls the account API index until CSS returns 200, the process exits or the timeout
// passes.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	probe := s.BaseURL + ".account/"
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			log := tailFile(s.LogPath, 40)
			if strings.Contains(log, "EADDRINUSE") {
				return errPortInUse
			}
			return fmt.Errorf("Community Solid Server exited before it was ready: %v. Log %s:\n%s", s.waitErr, s.LogPath, log)
		default:
		}
		resp, err := s.client.Get(probe)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s returned %s", probe, resp.Status)
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("Community Solid Server at %s was not ready after %s (last error: %v). Log %s:\n%s",
		s.Addr, timeout, lastErr, s.LogPath, tailFile(s.LogPath, 40))
}

func newClient(addr string) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   60 * time.Second,
		// The client returns redirects to the caller instead of following them.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return lastLines(string(data), n)
}

func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
