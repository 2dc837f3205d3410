// Package deploy checks that the kustomize tree under config/ renders and that a real API server
// accepts what it renders.
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"xpod.dev/quota-operator/internal/testutil/kubetest"
)

// TestDefaultConfigAcceptedByAPIServer renders config/default with kubectl kustomize and applies
// it with --dry-run=server, so the API server validates every object against its schema.
func TestDefaultConfigAcceptedByAPIServer(t *testing.T) {
	env, err := kubetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := func(stdin []byte, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"),
			append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	rendered := kubectl(nil, "kustomize", filepath.Join(kubetest.RepoRoot(), "config", "default"))
	for _, kind := range []string{"kind: CustomResourceDefinition", "kind: Deployment", "kind: ClusterRole",
		"kind: Service", "kind: ServiceAccount", "kind: Secret", "name: xpod-quota-manager", "name: xpod-quota-enforcer"} {
		if !bytes.Contains(rendered, []byte(kind)) {
			t.Errorf("config/default renders no %q", kind)
		}
	}
	// Namespaced objects of a server-side dry run need their namespace to exist.
	kubectl(nil, "create", "namespace", "xpod-quota")
	out := kubectl(rendered, "apply", "--dry-run=server", "-f", "-")
	if !bytes.Contains(out, []byte("deployment.apps/xpod-quota-enforcer created (server dry run)")) {
		t.Errorf("dry run did not create the enforcer Deployment:\n%s", out)
	}

	for _, dir := range []string{"samples", "prometheus", "grafana"} {
		kubectl(nil, "kustomize", filepath.Join(kubetest.RepoRoot(), "config", dir))
	}
	samples := kubectl(nil, "kustomize", filepath.Join(kubetest.RepoRoot(), "config", "samples"))
	kubectl(samples, "apply", "--dry-run=server", "-f", "-")
}
