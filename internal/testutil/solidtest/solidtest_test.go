package solidtest

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

var shared Shared

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Stop()
	os.Exit(code)
}

// send performs a request with the pod client and checks the status code.
func send(t *testing.T, pod Pod, method, target, contentType string, body []byte, headers map[string]string, want int) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("build %s %s: %v", method, target, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for name, value := range headers {
		req.Header.Set(name, value)
	}
	resp, err := pod.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s failed: %v", method, target, err)
	}
	respBody, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s returned %s, expected %d: %s", method, target, resp.Status, want, respBody)
	}
	return resp
}

func get(t *testing.T, pod Pod, target string) []byte {
	t.Helper()
	resp, err := pod.Client().Get(target)
	if err != nil {
		t.Fatalf("GET %s failed: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read GET %s: %v", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s returned %s: %s", target, resp.Status, body)
	}
	return body
}

// documentSize returns the measured size of one document, failing when the storage lacks it.
func documentSize(t *testing.T, storage Storage, target string) int64 {
	t.Helper()
	r, ok := storage.Lookup(target)
	if !ok {
		t.Fatalf("storage has no resource %s:\n%s", target, storage)
	}
	return r.Size
}

func TestSolidServerSmoke(t *testing.T) {
	srv := shared.Server(t)
	alice := srv.CreatePod(t, "alice")
	bob := srv.CreatePod(t, "bob")

	if alice.BaseURL != srv.BaseURL+"alice/" {
		t.Errorf("alice's pod is at %s, expected %salice/", alice.BaseURL, srv.BaseURL)
	}
	if alice.AccountID == "" || alice.AccountID == bob.AccountID {
		t.Errorf("account ids are %q and %q, expected two different non-empty ids", alice.AccountID, bob.AccountID)
	}
	if alice.PodID == "" || alice.PodID == bob.PodID {
		t.Errorf("pod ids are %q and %q, expected two different non-empty ids", alice.PodID, bob.PodID)
	}

	baseline := alice.Storage(t)
	bobBaseline := bob.Storage(t)
	t.Logf("storage of a new pod:\n%s", baseline)
	if _, ok := baseline.Lookup(alice.URL(".acl")); !ok {
		t.Errorf("seeded pod storage lacks the root ACL:\n%s", baseline)
	}
	if _, ok := baseline.Lookup(alice.URL("README")); !ok {
		t.Errorf("seeded pod storage lacks the README document:\n%s", baseline)
	}
	if baseline.Sum(Document, ACL)+baseline.Sum(Description) != baseline.Total() {
		t.Errorf("the kinds do not add up to the total:\n%s", baseline)
	}

	// A Turtle document is stored and served byte for byte.
	turtle := []byte("@prefix ex: <http://example.org/>.\n<#it> ex:count 1.\n")
	send(t, alice, http.MethodPut, alice.URL("notes/first.ttl"), "text/turtle", turtle, nil, http.StatusCreated)
	if got := get(t, alice, alice.URL("notes/first.ttl")); !bytes.Equal(got, turtle) {
		t.Errorf("GET notes/first.ttl returned %q, expected %q", got, turtle)
	}

	// A binary file.
	binary := make([]byte, 64*1024)
	if _, err := rand.Read(binary); err != nil {
		t.Fatal(err)
	}
	send(t, alice, http.MethodPut, alice.URL("files/blob.bin"), "application/octet-stream", binary, nil, http.StatusCreated)
	if got := get(t, alice, alice.URL("files/blob.bin")); !bytes.Equal(got, binary) {
		t.Errorf("GET files/blob.bin returned %d bytes that differ from the %d bytes written", len(got), len(binary))
	}

	// POST creates a resource in a container, named after the Slug header.
	posted := []byte("plain text posted into a container\n")
	resp := send(t, alice, http.MethodPost, alice.URL("notes/"), "text/plain", posted,
		map[string]string{"Slug": "posted"}, http.StatusCreated)
	postedURL := resp.Header.Get("Location")
	if !strings.HasPrefix(postedURL, alice.URL("notes/")) {
		t.Fatalf("POST notes/ returned Location %q, expected a URL in %s", postedURL, alice.URL("notes/"))
	}

	afterWrites := alice.Storage(t)
	if got := documentSize(t, afterWrites, alice.URL("notes/first.ttl")); got != int64(len(turtle)) {
		t.Errorf("notes/first.ttl measures %d bytes, expected %d", got, len(turtle))
	}
	if got := documentSize(t, afterWrites, alice.URL("files/blob.bin")); got != int64(len(binary)) {
		t.Errorf("files/blob.bin measures %d bytes, expected %d", got, len(binary))
	}
	if got := documentSize(t, afterWrites, postedURL); got != int64(len(posted)) {
		t.Errorf("the posted resource measures %d bytes, expected %d", got, len(posted))
	}
	wantDocuments := baseline.Sum(Document) + int64(len(turtle)+len(binary)+len(posted))
	if got := afterWrites.Sum(Document); got != wantDocuments {
		t.Errorf("documents sum to %d bytes, expected %d:\n%s", got, wantDocuments, afterWrites)
	}

	// N3 Patch inserts a triple, and CSS rewrites the document as Turtle.
	n3Patch := []byte(`@prefix solid: <http://www.w3.org/ns/solid/terms#>.
@prefix ex: <http://example.org/>.
_:patch a solid:InsertDeletePatch;
  solid:inserts { <#it> ex:label "patched with N3". }.
`)
	send(t, alice, http.MethodPatch, alice.URL("notes/first.ttl"), "text/n3", n3Patch, nil, http.StatusResetContent)
	afterN3 := get(t, alice, alice.URL("notes/first.ttl"))
	if !bytes.Contains(afterN3, []byte("patched with N3")) {
		t.Errorf("notes/first.ttl lacks the N3 Patch insertion: %s", afterN3)
	}

	// SPARQL Update on a resource that does not exist yet creates it.
	sparql := []byte(`PREFIX ex: <http://example.org/>
INSERT DATA { <#thing> ex:label "patched with SPARQL" . }`)
	send(t, alice, http.MethodPatch, alice.URL("notes/sparql.ttl"), "application/sparql-update", sparql, nil, http.StatusCreated)
	afterSPARQL := get(t, alice, alice.URL("notes/sparql.ttl"))
	if !bytes.Contains(afterSPARQL, []byte("patched with SPARQL")) {
		t.Errorf("notes/sparql.ttl lacks the SPARQL Update insertion: %s", afterSPARQL)
	}

	afterPatches := alice.Storage(t)
	if got := documentSize(t, afterPatches, alice.URL("notes/first.ttl")); got != int64(len(afterN3)) {
		t.Errorf("notes/first.ttl measures %d bytes after the N3 Patch, expected %d", got, len(afterN3))
	}
	if got := documentSize(t, afterPatches, alice.URL("notes/sparql.ttl")); got != int64(len(afterSPARQL)) {
		t.Errorf("notes/sparql.ttl measures %d bytes, expected %d", got, len(afterSPARQL))
	}

	// An ACL written by a client counts as an ACL resource.
	acl := []byte(`@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.
<#public> a acl:Authorization; acl:agentClass foaf:Agent; acl:accessTo <./blob.bin>;
  acl:mode acl:Read, acl:Write, acl:Control.
`)
	send(t, alice, http.MethodPut, alice.URL("files/blob.bin.acl"), "text/turtle", acl, nil, http.StatusCreated)

	// DELETE removes the binary file, and its ACL with it.
	send(t, alice, http.MethodDelete, alice.URL("files/blob.bin"), "", nil, nil, http.StatusResetContent)
	send(t, alice, http.MethodGet, alice.URL("files/blob.bin"), "", nil, nil, http.StatusNotFound)

	final := alice.Storage(t)
	if _, ok := final.Lookup(alice.URL("files/blob.bin")); ok {
		t.Errorf("storage still lists the deleted files/blob.bin:\n%s", final)
	}
	if _, ok := final.Lookup(alice.URL("files/blob.bin.acl")); ok {
		t.Errorf("storage still lists the ACL of the deleted files/blob.bin:\n%s", final)
	}
	wantDocuments = baseline.Sum(Document) + int64(len(afterN3)+len(posted)+len(afterSPARQL))
	if got := final.Sum(Document); got != wantDocuments {
		t.Errorf("documents sum to %d bytes after the DELETE, expected %d:\n%s", got, wantDocuments, final)
	}
	if got, want := final.Sum(ACL), baseline.Sum(ACL); got != want {
		t.Errorf("ACLs sum to %d bytes after the DELETE, expected %d:\n%s", got, want, final)
	}

	// Writes to alice's pod leave bob's pod alone.
	if got, want := bob.Storage(t).Sum(Document, ACL), bobBaseline.Sum(Document, ACL); got != want {
		t.Errorf("bob's documents and ACLs sum to %d bytes, expected %d", got, want)
	}
}

func TestCreatePodPicksUniqueName(t *testing.T) {
	srv := shared.Server(t)
	first := srv.CreatePod(t, "")
	second := srv.CreatePod(t, "")
	if first.Name == second.Name {
		t.Fatalf("two pods created without a name share the name %q", first.Name)
	}
	if first.BaseURL != srv.PodURL(first.Name) {
		t.Errorf("pod %s is at %s, expected %s", first.Name, first.BaseURL, srv.PodURL(first.Name))
	}
}

func TestSubdomainLayout(t *testing.T) {
	srv := StartWith(t, Options{Layout: SubdomainLayout})
	pod := srv.CreatePod(t, "carol")
	if want := strings.Replace(srv.BaseURL, "://", "://carol.", 1); pod.BaseURL != want {
		t.Fatalf("subdomain pod is at %s, expected %s", pod.BaseURL, want)
	}
	body := []byte("hello from a subdomain pod\n")
	send(t, pod, http.MethodPut, pod.URL("hello.txt"), "text/plain", body, nil, http.StatusCreated)
	storage := pod.Storage(t)
	if got := documentSize(t, storage, pod.URL("hello.txt")); got != int64(len(body)) {
		t.Errorf("hello.txt measures %d bytes, expected %d:\n%s", got, len(body), storage)
	}
}

// A proxy in front of CSS keeps the Host header, so CSS runs with the proxy's URL as its base URL.
func TestBaseURLOfProxy(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxyURL := "http://" + listener.Addr().String() + "/"
	srv := StartWith(t, Options{BaseURL: proxyURL})
	if srv.BaseURL != proxyURL {
		t.Fatalf("server base URL is %s, expected %s", srv.BaseURL, proxyURL)
	}

	upstream, err := url.Parse("http://" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var proxied atomic.Int32
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		proxied.Add(1)
		r.SetURL(upstream)
		r.Out.Host = r.In.Host
	}}
	server := &http.Server{Handler: proxy}
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(func() { _ = server.Close() })

	pod := srv.CreatePod(t, "dave")
	if want := proxyURL + "dave/"; pod.BaseURL != want {
		t.Fatalf("pod is at %s, expected %s", pod.BaseURL, want)
	}
	if n := proxied.Load(); n != 0 {
		t.Errorf("creating the pod sent %d requests through the proxy, expected none", n)
	}

	body := []byte("written through the proxy\n")
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, pod.URL("via-proxy.txt"), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT through the proxy failed: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT through the proxy returned %s, expected 201", resp.Status)
	}
	if n := proxied.Load(); n != 1 {
		t.Errorf("the proxy saw %d requests, expected 1", n)
	}

	storage := pod.Storage(t)
	if got := documentSize(t, storage, pod.URL("via-proxy.txt")); got != int64(len(body)) {
		t.Errorf("via-proxy.txt measures %d bytes, expected %d:\n%s", got, len(body), storage)
	}
	if n := proxied.Load(); n != 1 {
		t.Errorf("measuring the storage sent %d requests through the proxy, expected none", n-1)
	}
}

func TestParseLinks(t *testing.T) {
	links := parseLinks([]string{
		`<http://a/x.acl>; rel="acl", <http://www.w3.org/ns/ldp#Resource>; rel="type"`,
		`<http://a/x.meta>; rel=describedby`,
		`<http://a/s>; rel="self alternate"`,
	})
	want := []link{
		{target: "http://a/x.acl", rel: "acl"},
		{target: "http://www.w3.org/ns/ldp#Resource", rel: "type"},
		{target: "http://a/x.meta", rel: "describedby"},
		{target: "http://a/s", rel: "self"},
		{target: "http://a/s", rel: "alternate"},
	}
	if len(links) != len(want) {
		t.Fatalf("parsed %d links, expected %d: %v", len(links), len(want), links)
	}
	for i := range want {
		if links[i] != want[i] {
			t.Errorf("link %d is %+v, expected %+v", i, links[i], want[i])
		}
	}
}

func TestVersionMatchesScript(t *testing.T) {
	script, err := findScript()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	if pin := `CSS_VERSION="` + Version + `"`; !strings.Contains(string(data), pin) {
		t.Errorf("%s does not pin %s: update Version when the script's CSS_VERSION changes", script, pin)
	}
}
