package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"xpod.dev/quota-operator/internal/testutil/kubetest"
	"xpod.dev/quota-operator/internal/testutil/solidtest"
)

// Options configures a stack.
type Options struct {
	// Dir receives the binaries, the kubeconfig, the admin token and the database files.
	Dir string
	// LogDir receives the components' logs; empty means Dir/logs.
	LogDir string
	// DatabaseURL is the PostgreSQL database to use; empty starts a private server.
	DatabaseURL string
	// Pods are the pods to seed on the Solid server; with the path resolver each pod's account
	// id is its name.
	Pods []string
	// StatusInterval is the manager's --status-interval; zero means 2s.
	StatusInterval time.Duration
}

// Stack is a running system.
type Stack struct {
	Dir         string
	LogDir      string
	KubeConfig  string
	KubectlPath string
	DatabaseURL string
	EnforcerURL string
	AdminURL    string
	AdminToken  string
	CSS         *solidtest.Server
	Pods        map[string]solidtest.Pod
	Client      client.Client

	env      *envtest.Environment
	manager  *process
	enforcer *process
	stopCSS  func()
	pgDir    string
}

// Start builds the binaries and starts every component. On error, what was started is stopped.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s := &Stack{Dir: opts.Dir, LogDir: opts.LogDir, Pods: map[string]solidtest.Pod{}}
	if s.LogDir == "" {
		s.LogDir = filepath.Join(opts.Dir, "logs")
	}
	if err := os.MkdirAll(s.LogDir, 0o755); err != nil {
		return nil, err
	}
	steps := []func(context.Context, Options) error{
		s.startControlPlane, s.startDatabase, s.build, s.startSolidAndEnforcer, s.startManager, s.seedPods,
	}
	for _, step := range steps {
		if err := step(ctx, opts); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

func (s *Stack) startControlPlane(_ context.Context, _ Options) error {
	out, err := exec.Command(filepath.Join(kubetest.RepoRoot(), "hack", "build-control-plane.sh")).Output()
	if err != nil {
		return fmt.Errorf("build the control plane: %w", err)
	}
	assets := strings.TrimSpace(string(out))
	s.KubectlPath = filepath.Join(assets, "kubectl")
	s.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(kubetest.RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := s.env.Start()
	if err != nil {
		return fmt.Errorf("start etcd and kube-apiserver: %w", err)
	}

	s.KubeConfig = filepath.Join(s.Dir, "kubeconfig")
	if err := os.WriteFile(s.KubeConfig, s.env.KubeConfig, 0o600); err != nil {
		return err
	}
	s.Client, err = client.New(cfg, client.Options{Scheme: kubetest.NewScheme()})
	return err
}

func (s *Stack) startDatabase(_ context.Context, opts Options) error {
	if opts.DatabaseURL != "" {
		s.DatabaseURL = opts.DatabaseURL
		return nil
	}
	// A folder of its own under the system temporary folder, because the server runs as the
	// postgres user when the stack runs as root and must reach it.
	var err error
	if s.pgDir, err = os.MkdirTemp("", "xpod-quota-pg-"); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(kubetest.RepoRoot(), "hack", "postgres.sh"), "start", s.pgDir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	s.DatabaseURL = strings.TrimSpace(string(out))
	return nil
}

func (s *Stack) build(_ context.Context, _ Options) error {
	for _, name := range []string{"manager", "enforcer"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(s.Dir, "bin", name), "./cmd/"+name)
		cmd.Dir = kubetest.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", name, err, out)
		}
	}
	return nil
}

// startSolidAndEnforcer starts CSS with the enforcer's URL as its base URL, because CSS serves
// only requests whose Host matches its base URL, and then the enforcer in front of it.
func (s *Stack) startSolidAndEnforcer(ctx context.Context, _ Options) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	s.EnforcerURL = fmt.Sprintf("http://127.0.0.1:%d/", ports[0])
	s.CSS, s.stopCSS, err = solidtest.StartShared(solidtest.Options{BaseURL: s.EnforcerURL})
	if err != nil {
		return fmt.Errorf("start Community Solid Server: %w", err)
	}
	s.enforcer = &process{
		name:   "enforcer",
		binary: filepath.Join(s.Dir, "bin", "enforcer"),
		args: []string{"--listen", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--upstream", "http://" + s.CSS.Addr,
			"--database-url", s.DatabaseURL, "--pod-resolver", "path",
			"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
			"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[2])},
		logPath:  filepath.Join(s.LogDir, "enforcer.log"),
		readyURL: fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[2]),
	}
	return s.enforcer.start(ctx)
}

func (s *Stack) startManager(ctx context.Context, opts Options) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	s.AdminToken = randomToken()
	tokenFile := filepath.Join(s.Dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(s.AdminToken+"\n"), 0o600); err != nil {
		return err
	}
	interval := opts.StatusInterval
	if interval == 0 {
		interval = 2 * time.Second
	}
	s.AdminURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	s.manager = &process{
		name:   "manager",
		binary: filepath.Join(s.Dir, "bin", "manager"),
		args: []string{"--kubeconfig", s.KubeConfig, "--database-url", s.DatabaseURL,
			"--admin-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--admin-token-file", tokenFile,
			"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
			"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[2]),
			"--status-interval", interval.String(), "--resync-period", "10s"},
		logPath:  filepath.Join(s.LogDir, "manager.log"),
		readyURL: fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[2]),
	}
	return s.manager.start(ctx)
}

func (s *Stack) seedPods(_ context.Context, opts Options) error {
	for _, name := range opts.Pods {
		pod, err := s.CSS.NewPod(name)
		if err != nil {
			return fmt.Errorf("seed pod %s: %w", name, err)
		}
		s.Pods[name] = pod
	}
	return nil
}

// RestartManager stops the manager with SIGTERM and starts it again.
func (s *Stack) RestartManager(ctx context.Context) error {
	s.manager.stop(30 * time.Second)
	return s.manager.start(ctx)
}

// RestartEnforcer stops the enforcer with SIGTERM, so it drains and flushes, and starts it again.
func (s *Stack) RestartEnforcer(ctx context.Context) error {
	s.enforcer.stop(30 * time.Second)
	return s.enforcer.start(ctx)
}

// Kubectl runs kubectl against the stack's API server.
func (s *Stack) Kubectl(args ...string) ([]byte, error) {
	cmd := exec.Command(s.KubectlPath, append([]string{"--kubeconfig", s.KubeConfig}, args...)...)
	cmd.Dir = kubetest.RepoRoot()
	return cmd.CombinedOutput()
}

// Stop stops every component that was started, the last started first.
func (s *Stack) Stop() {
	if s.manager != nil {
		s.manager.stop(10 * time.Second)
	}
	if s.enforcer != nil {
		s.enforcer.stop(30 * time.Second)
	}
	if s.stopCSS != nil {
		s.stopCSS()
	}
	if s.pgDir != "" {
		_ = exec.Command(filepath.Join(kubetest.RepoRoot(), "hack", "postgres.sh"), "stop", s.pgDir).Run()
	}
	if s.env != nil {
		// Stop also after a failed start: a failed CRD install leaves etcd and kube-apiserver running.
		_ = s.env.Stop()
	}
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
