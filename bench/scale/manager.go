package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"xpod.dev/quota-operator/internal/testutil/kubetest"
)

// memoryLimit is the manager's GOMEMLIMIT, 80% of the 256Mi memory limit of its Deployment.
const memoryLimit = "204MiB"

// managerProcess is the manager binary running against the environment.
type managerProcess struct {
	cmd        *exec.Cmd
	metricsURL string
	log        *os.File
}

func startManager(env *environment, statusInterval time.Duration, extraFlags []string) (*managerProcess, error) {
	binary := filepath.Join(env.dir, "manager")
	build := exec.Command("go", "build", "-o", binary, "./cmd/manager")
	build.Dir = kubetest.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build manager: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(env.dir, "manager.log"))
	if err != nil {
		return nil, err
	}
	m := &managerProcess{metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", port), log: logFile}
	args := append([]string{"--kubeconfig", env.kubeconfig, "--database-url", env.dbURL,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", port), "--health-probe-bind-address", "0",
		"--status-interval", statusInterval.String()}, extraFlags...)
	m.cmd = exec.Command(binary, args...)
	// The same soft memory limit as config/manager/manager.yaml sets from the container's limit.
	m.cmd.Env = append(os.Environ(), "GOMEMLIMIT="+memoryLimit)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start manager: %w", err)
	}
	return m, nil
}

func (m *managerProcess) stop() {
	_ = m.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
	}
	_ = m.log.Close()
}

// memory returns the manager's resident set size now and at its peak, from /proc.
func (m *managerProcess) memory() (int64, int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("read manager memory: %w", err)
	}
	defer func() { _ = f.Close() }()
	var rss, peak int64
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 2 {
			continue
		}
		kib, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kib << 10
		case "VmHWM:":
			peak = kib << 10
		}
	}
	return rss, peak, scanner.Err()
}

// metric returns the sum of the samples of one metric family from the manager's endpoint.
func (m *managerProcess) metric(ctx context.Context, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.metricsURL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read manager metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var total float64
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			total += v
		}
	}
	return total, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
