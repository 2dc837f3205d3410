package accountid

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	valid := []string{"acct-001", "a", "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "user.name_1", strings.Repeat("a", 128)}
	for _, id := range valid {
		if err := Validate(id); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", id, err)
		}
	}
	invalid := []string{"", "-a", "a-", "a/b", "a b", "acct-001'; DELETE FROM identity_account_quota;--",
		"..", "é", strings.Repeat("a", 129), "a\x00b"}
	for _, id := range invalid {
		if err := Validate(id); err == nil {
			t.Errorf("Validate(%q) = nil, want an error", id)
		}
	}
}

// TestCRDUsesSamePattern keeps the CRD's accountId pattern equal to Pattern.
func TestCRDUsesSamePattern(t *testing.T) {
	crd, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "quota.xpod.dev_accountquotas.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(crd), "pattern: "+Pattern) {
		t.Fatalf("the CRD's spec.accountId pattern differs from accountid.Pattern %s", Pattern)
	}
}
