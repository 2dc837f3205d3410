// Package kubetest starts one real API server (envtest, with the binaries built by
// hack/build-control-plane.sh) for a test package, with the AccountQuota CRD installed.
package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
)

// Env is a running API server.
type Env struct {
	Config *rest.Config
	// KubeConfig is a kubeconfig file's content for the API server's admin user.
	KubeConfig []byte
	Client     client.Client
	Scheme     *k8sruntime.Scheme
	env        *envtest.Environment
}

// Start runs an API server with the CRDs from config/crd/bases. Call it from TestMain and Stop
// it when the tests are done. KUBEBUILDER_ASSETS must name the folder with the binaries.
func Start() (*Env, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run the tests with 'make test', or set it to " +
			"the folder printed by hack/build-control-plane.sh")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop() // a failed CRD install leaves etcd and kube-apiserver running
		return nil, fmt.Errorf("start API server: %w", err)
	}
	scheme := NewScheme()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("create client: %w", err)
	}
	return &Env{Config: cfg, KubeConfig: env.KubeConfig, Client: c, Scheme: scheme, env: env}, nil
}

// Stop shuts the API server down.
func (e *Env) Stop() error { return e.env.Stop() }

// NewScheme returns a scheme with the built-in types and the AccountQuota API.
func NewScheme() *k8sruntime.Scheme {
	scheme := k8sruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(quotav1.AddToScheme(scheme))
	return scheme
}

// Namespace creates a namespace with a random name for the test.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "test-" + hex.EncodeToString(b)}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

// RepoRoot returns the repository's top folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}
