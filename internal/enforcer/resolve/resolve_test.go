package resolve

import (
	"context"
	"testing"
	"time"

	"xpod.dev/quota-operator/internal/testutil/pgtest"

	"xpod.dev/quota-operator/internal/database"
)

func TestNormalizeHost(t *testing.T) {
	cases := map[string]string{
		"POD-A.pods.example.test.":     "pod-a.pods.example.test",
		"pod-a.pods.example.test":      "pod-a.pods.example.test",
		"Pod-A.Pods.Example.Test:80":   "pod-a.pods.example.test",
		"pod-a.pods.example.test.:443": "pod-a.pods.example.test",
		"localhost:3000":               "localhost:3000",
		"LOCALHOST.:3000":              "localhost:3000",
	}
	for in, want := range cases {
		if got := NormalizeHost(in); got != want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	cases := []struct {
		escaped, decoded, want string
		ok                     bool
	}{
		{"/pod/a/b", "/pod/a/b", "/pod/a/b", true},
		{"/pod/a/../b", "/pod/a/../b", "/pod/b", true},
		{"/pod/a/./b/", "/pod/a/./b/", "/pod/a/b/", true},
		{"/pod/a/..", "/pod/a/..", "/pod/", true},
		{"/pod/%2e%2e/other/x", "/pod/../other/x", "/other/x", true},
		{"/pod/a%2Fb", "/pod/a/b", "", false},
		{"/pod/a%2fb", "/pod/a/b", "", false},
		{"/pod/a%5Cb", "/pod/a\\b", "", false},
		{"/pod/../../x", "/pod/../../x", "", false},
		{"/pod//x", "/pod//x", "", false},
		{"/pod/%00", "/pod/\x00", "", false},
		{"/", "/", "/", true},
	}
	for _, c := range cases {
		got, err := NormalizePath(c.escaped, c.decoded)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q, ok=%v", c.escaped, got, err, c.want, c.ok)
		}
	}
}

func TestPathResolver(t *testing.T) {
	r, _ := New("path", Options{Accounts: map[string]string{"alice": "acct-001"}, ExcludedSegments: []string{"idp"}})
	cases := []struct {
		path    string
		status  Status
		pod     string
		account string
	}{
		{"/alice/profile/card", InPod, "alice", "acct-001"},
		{"/alice/", InPod, "alice", "acct-001"},
		{"/bob/x", InPod, "bob", "bob"},
		{"/", OutsidePods, "", ""},
		{"/favicon.ico", OutsidePods, "", ""},
		{"/.well-known/openid-configuration", OutsidePods, "", ""},
		{"/.account/login/", OutsidePods, "", ""},
		{"/idp/register/", OutsidePods, "", ""},
	}
	for _, c := range cases {
		res, err := r.Resolve(context.Background(), "example.test", c.path)
		if err != nil || res.Status != c.status || res.Target.PodID != c.pod || res.Target.AccountID != c.account {
			t.Errorf("Resolve(%q) = %+v, %v; want %v pod %q account %q", c.path, res, err, c.status, c.pod, c.account)
		}
	}
}

func TestPathResolverRejectsUnmappedPods(t *testing.T) {
	r, _ := New("path", Options{Accounts: map[string]string{"alice": "acct-001"}, RejectUnmapped: true})
	res, _ := r.Resolve(context.Background(), "example.test", "/mallory/x")
	if res.Status != UnknownPod || res.PodName != "mallory" {
		t.Errorf("unmapped pod resolved to %+v, want UnknownPod mallory", res)
	}
}

func TestSubdomainResolver(t *testing.T) {
	r, err := New("subdomain", Options{BaseDomain: "Pods.Example.Test."})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		host   string
		status Status
		pod    string
	}{
		{NormalizeHost("POD-A.pods.example.test."), InPod, "pod-a"},
		{NormalizeHost("pod-a.pods.example.test"), InPod, "pod-a"},
		{NormalizeHost("pod-a.pods.example.test:8080"), InPod, "pod-a"},
		{NormalizeHost("pods.example.test"), OutsidePods, ""},
		{NormalizeHost("a.b.pods.example.test"), OutsidePods, ""},
		{NormalizeHost("other.example"), OutsidePods, ""},
	}
	for _, c := range cases {
		res, _ := r.Resolve(context.Background(), c.host, "/x")
		if res.Status != c.status || res.Target.PodID != c.pod {
			t.Errorf("Resolve(%q) = %+v, want %v pod %q", c.host, res, c.status, c.pod)
		}
	}
	if _, err := New("subdomain", Options{}); err == nil {
		t.Errorf("subdomain resolver without base domain: no error")
	}
}

func TestXpodResolverLongestPrefix(t *testing.T) {
	pool, _ := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE identity_pod (id TEXT PRIMARY KEY, payload JSONB)`); err != nil {
		t.Fatal(err)
	}
	insert := func(id, base, account string) {
		t.Helper()
		_, err := pool.Exec(ctx, `INSERT INTO identity_pod (id, payload) VALUES ($1, jsonb_build_object('baseUrl', $2::text,
			'accountId', $3::text))`, id, base, account)
		if err != nil {
			t.Fatal(err)
		}
	}
	insert("pod-1", "https://Pods.Example.test/alice/", "acct-001")
	insert("pod-2", "https://pods.example.test/alice/projects/", "acct-002")
	insert("pod-3", "https://bob.pods.example.test/", "acct-003")

	r, err := New("xpod", Options{MissRefreshInterval: 10 * time.Millisecond, LoadPods: func(ctx context.Context) ([]database.XpodPod, error) {
		return database.ListXpodPods(ctx, pool)
	}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		host, path string
		status     Status
		pod        string
	}{
		{"pods.example.test", "/alice/profile/card", InPod, "pod-1"},
		{"pods.example.test", "/alice/projects/plan", InPod, "pod-2"},
		// The root of pod-2 without its slash: a pod server cannot hold a resource of that name in pod-1.
		{"pods.example.test", "/alice/projects", InPod, "pod-2"},
		{"pods.example.test", "/alice", InPod, "pod-1"},
		{NormalizeHost("BOB.pods.example.test."), "/x", InPod, "pod-3"},
		{"pods.example.test", "/carol/x", OutsidePods, ""},
		{"pods.example.test", "/", OutsidePods, ""},
	}
	for _, c := range cases {
		res, err := r.Resolve(ctx, c.host, c.path)
		if err != nil || res.Status != c.status || res.Target.PodID != c.pod {
			t.Errorf("Resolve(%q, %q) = %+v, %v; want %v pod %q", c.host, c.path, res, err, c.status, c.pod)
		}
	}

	// A pod created after the table was loaded is found by the reload a miss triggers.
	insert("pod-4", "https://pods.example.test/carol/", "acct-004")
	time.Sleep(20 * time.Millisecond)
	res, _ := r.Resolve(ctx, "pods.example.test", "/carol/x")
	if res.Status != InPod || res.Target.AccountID != "acct-004" {
		t.Errorf("new pod resolved to %+v, want pod-4 of acct-004", res)
	}
	loc, err := r.Locate(ctx, "pod-2")
	if err != nil || loc.Host != "pods.example.test" || loc.Root != "/alice/projects/" {
		t.Errorf("Locate(pod-2) = %+v, %v", loc, err)
	}
}

func TestPlainPathsNeedNoNormalisation(t *testing.T) {
	segments := []string{"alice", "profile", "card", "", ".", "..", ".well-known", "a.b", "c-d_e~f", "x.acl"}
	for _, a := range segments {
		for _, b := range segments {
			for _, c := range segments {
				path := "/" + a + "/" + b + "/" + c
				if !isPlainPath(path, path) {
					continue
				}
				want, err := normalizeSegments(path, path)
				if err != nil || want != path {
					t.Errorf("isPlainPath accepts %q, which normalises to %q (%v)", path, want, err)
				}
			}
		}
	}
}
