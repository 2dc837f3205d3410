package controllers

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAccountCollectorSeries(t *testing.T) {
	c := newAccountCollector()
	c.set(accountFigures{account: "a1", namespace: "ns", name: "one", storageUsed: 10, storageLimit: 100})
	c.set(accountFigures{account: "a2", namespace: "ns", name: "two", egress: 7})
	if got := testutil.CollectAndCount(c); got != 10 {
		t.Fatalf("%d series for two accounts, want 10", got)
	}
	want := `
# HELP xpod_quota_account_storage_used_bytes Stored bytes of an account that an AccountQuota manages.
# TYPE xpod_quota_account_storage_used_bytes gauge
xpod_quota_account_storage_used_bytes{account="a1",name="one",namespace="ns"} 10
xpod_quota_account_storage_used_bytes{account="a2",name="two",namespace="ns"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "xpod_quota_account_storage_used_bytes"); err != nil {
		t.Error(err)
	}
	c.remove("ns", "one")
	if got := testutil.CollectAndCount(c); got != 5 {
		t.Fatalf("%d series after removing one account, want 5", got)
	}
}
