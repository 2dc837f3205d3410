package controllers

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// TestCRDValidation applies manifests to the real API server: valid ones are stored, invalid ones
// are rejected with a message that names the field.
func TestCRDValidation(t *testing.T) {
	t.Parallel()
	ns := kube.Namespace(t)
	cases := []struct {
		name      string
		spec      string
		wantError string // empty: accepted
	}{
		{name: "minimal", spec: `accountId: acct-001`},
		{name: "uuid account", spec: `accountId: 3f2504e0-4f89-41d3-9a0c-0305e82c3301`},
		{name: "binary suffixes", spec: "accountId: a1\nstorageLimit: 20Gi\nbandwidthLimit: 10Mi"},
		{name: "decimal suffix", spec: "accountId: a1\nstorageLimit: 500M"},
		{name: "integer bytes", spec: "accountId: a1\nstorageLimit: 1536\nbandwidthLimit: 0"},
		{name: "zero storage", spec: "accountId: a1\nstorageLimit: \"0\""},
		{name: "whole fraction of Ki", spec: "accountId: a1\nstorageLimit: 1.5Ki"},
		{name: "whole fraction of k", spec: "accountId: a1\nstorageLimit: 1.5k"},
		{name: "large binary", spec: "accountId: a1\nstorageLimit: 7Ei"},
		{name: "512Ti", spec: "accountId: a1\nstorageLimit: 512Ti"},
		{name: "max int64 string", spec: "accountId: a1\nstorageLimit: \"9223372036854775807\""},
		{name: "max int64 number", spec: "accountId: a1\nbandwidthLimit: 9223372036854775807"},
		{name: "exponent", spec: "accountId: a1\nstorageLimit: 1e9"},
		{name: "orphan policy", spec: "accountId: a1\ndeletionPolicy: Orphan"},

		{name: "missing account", spec: `storageLimit: 1Gi`, wantError: "spec.accountId: Required value"},
		{name: "empty account", spec: `accountId: ""`, wantError: "spec.accountId"},
		{name: "sql in account", spec: `accountId: "acct-001'; DELETE FROM identity_account_quota;--"`,
			wantError: "spec.accountId"},
		{name: "slash in account", spec: `accountId: "a/b"`, wantError: "spec.accountId"},
		{name: "account too long", spec: "accountId: " + strings.Repeat("a", 129), wantError: "spec.accountId"},
		{name: "negative storage", spec: "accountId: a1\nstorageLimit: \"-1\"",
			wantError: "spec.storageLimit: Invalid value: \"-1\": storageLimit must not be negative"},
		{name: "negative bandwidth number", spec: "accountId: a1\nbandwidthLimit: -100",
			wantError: "bandwidthLimit must not be negative"},
		{name: "fractional storage", spec: "accountId: a1\nstorageLimit: \"1.5\"",
			wantError: "storageLimit must be a whole number of bytes"},
		{name: "fractional number", spec: "accountId: a1\nstorageLimit: 1.5", wantError: "spec.storageLimit"},
		{name: "milli suffix", spec: "accountId: a1\nbandwidthLimit: 1500m",
			wantError: "bandwidthLimit must be a whole number of bytes per second"},
		{name: "fraction of Ki", spec: "accountId: a1\nstorageLimit: 1.3Ki",
			wantError: "storageLimit must be a whole number of bytes"},
		{name: "malformed suffix", spec: "accountId: a1\nstorageLimit: 10Gx", wantError: "spec.storageLimit"},
		{name: "word", spec: "accountId: a1\nbandwidthLimit: fast", wantError: "spec.bandwidthLimit"},
		{name: "above max", spec: "accountId: a1\nstorageLimit: \"9223372036854775808\"",
			wantError: "storageLimit must be at most 9223372036854775807 bytes"},
		{name: "8Ei", spec: "accountId: a1\nstorageLimit: 8Ei", wantError: "storageLimit must be at most"},
		{name: "10Ei bandwidth", spec: "accountId: a1\nbandwidthLimit: 10Ei", wantError: "bandwidthLimit must be at most"},
		{name: "8192Pi", spec: "accountId: a1\nstorageLimit: 8192Pi", wantError: "storageLimit must be at most"},
		{name: "unknown policy", spec: "accountId: a1\ndeletionPolicy: Keep", wantError: "spec.deletionPolicy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := manifest(t, ns, "case-"+strings.ReplaceAll(strings.ToLower(tc.name), " ", "-"), tc.spec)
			err := kube.Client.Create(context.Background(), obj)
			if tc.wantError == "" {
				if err != nil {
					t.Fatalf("valid manifest rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("invalid manifest accepted; want an error containing %q", tc.wantError)
			}
			if !strings.Contains(err.Error(), tc.wantError) {
				t.Fatalf("error %q does not contain %q", err.Error(), tc.wantError)
			}
		})
	}
}

// TestAccountIDImmutable checks that the API server rejects a change of spec.accountId.
func TestAccountIDImmutable(t *testing.T) {
	t.Parallel()
	ns := kube.Namespace(t)
	obj := manifest(t, ns, "immutable", "accountId: acct-001")
	if err := kube.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := unstructured.SetNestedField(obj.Object, "acct-002", "spec", "accountId"); err != nil {
		t.Fatal(err)
	}
	err := kube.Client.Update(context.Background(), obj)
	if err == nil || !strings.Contains(err.Error(), "accountId is immutable") {
		t.Fatalf("update of accountId: got %v, want an error containing %q", err, "accountId is immutable")
	}
}

// TestDeletionPolicyDefault checks that the API server fills in deletionPolicy: Delete.
func TestDeletionPolicyDefault(t *testing.T) {
	t.Parallel()
	ns := kube.Namespace(t)
	obj := manifest(t, ns, "defaulted", "accountId: acct-001")
	if err := kube.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("create: %v", err)
	}
	policy, _, _ := unstructured.NestedString(obj.Object, "spec", "deletionPolicy")
	if policy != "Delete" {
		t.Fatalf("deletionPolicy = %q, want Delete", policy)
	}
}

func manifest(t *testing.T, ns, name, spec string) *unstructured.Unstructured {
	t.Helper()
	doc := "apiVersion: quota.xpod.dev/v1alpha1\nkind: AccountQuota\nmetadata:\n  name: " + name +
		"\n  namespace: " + ns + "\nspec:\n  " + strings.ReplaceAll(spec, "\n", "\n  ") + "\n"
	obj := &unstructured.Unstructured{}
	if err := utilyaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatalf("parse manifest: %v\n%s", err, doc)
	}
	return obj
}
