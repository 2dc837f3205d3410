package solidtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Pod is a pod that CreatePod seeded on a server.
//
// Every agent may read, write, append and control every resource of a seeded pod (see
// CreatePod), so any HTTP client can write into it without credentials: Client, a plain client
// aimed at a proxy in front of CSS, or curl.
type Pod struct {
	// Name is the pod name given to the CSS account API.
	Name string
	// BaseURL is the pod's root container, ending with "/".
	BaseURL string
	// PodID is the id of the pod record in the CSS account store.
	PodID string
	// AccountID is the id of the owning account as CSS stores it (the pod record's accountId).
	AccountID string
	// WebID is the owner's WebID, in the pod at profile/card#me.
	WebID string
	// Email and Password are the owner's login for the CSS account API.
	Email    string
	Password string
	// AccountToken authorizes account API requests in an "Authorization: CSS-Account-Token"
	// header.
	AccountToken string

	server *Server
}

// Client returns the server's client, which sends requests straight to CSS.
func (p Pod) Client() *http.Client {
	return p.server.Client()
}

// URL resolves ref, such as "notes/a.ttl", against the pod's base URL.
func (p Pod) URL(ref string) string {
	base, err := url.Parse(p.BaseURL)
	if err != nil {
		panic(fmt.Sprintf("pod base URL %q is invalid: %v", p.BaseURL, err))
	}
	target, err := base.Parse(ref)
	if err != nil {
		panic(fmt.Sprintf("invalid reference %q: %v", ref, err))
	}
	return target.String()
}

// podName matches the names CreatePod accepts: CSS lower-cases a name and replaces characters
// other than letters and digits, and a subdomain pod also needs a valid DNS label.
var podName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// subdomainBaseFolder is the data folder of the base URL's own resources in the subdomain layout
// (the baseSubdomain of the CSS SubdomainExtensionBasedMapper).
const subdomainBaseFolder = "www"

// CreatePod creates an account that owns a pod called name through the CSS account API and makes
// the pod writable by everyone. An empty name picks one that is unique on this server. The name
// must be unused on this server, contain only lower-case letters, digits and hyphens, and start
// and end with a letter or digit.
//
// The account API steps are those of CSS 7: create an account (POST /.account/account/), add an
// email and password login, log in with it, and create the pod through the pod control.
//
// CSS 7.2 cannot authorize a token-based request to a server whose base URL is
// http://127.0.0.1:PORT/, because @solid/access-token-verifier only accepts an HTTPS WebID or
// one on a *.localhost host. So the owner cannot grant public access over HTTP there, and
// CreatePod instead rewrites the pod's root ACL in the file backend: foaf:Agent gets acl:Read,
// acl:Write, acl:Append and acl:Control on the root and, by acl:default, on everything below it.
// The resource-specific ACLs of the pod template (README.acl, profile/card.acl) are removed so
// that every resource inherits this rule. CSS reads ACLs from disk on each request, and CreatePod
// checks the WAC-Allow header of the pod root afterwards.
func (s *Server) CreatePod(t testing.TB, name string) Pod {
	t.Helper()
	if name == "" {
		name = s.nextPodName(t)
	}
	if !podName.MatchString(name) {
		t.Fatalf("invalid pod name %q: use lower-case letters, digits and hyphens, starting and ending with a letter or digit", name)
	}
	if s.layout == SubdomainLayout && name == subdomainBaseFolder {
		t.Fatalf("invalid pod name %q: CSS keeps the resources of the base URL in that folder when pods are subdomains", name)
	}
	pod := Pod{
		Name:     name,
		Email:    name + "@example.org",
		Password: randomHex(t, 16),
		server:   s,
	}

	created := s.accountRequest(t, http.MethodPost, s.BaseURL+".account/account/", "", struct{}{})
	token := stringField(t, created, "authorization")
	controls := s.accountControls(t, token)
	accountURL := stringField(t, controls, "html", "account", "account")
	pod.AccountID = lastSegment(t, accountURL)

	s.accountRequest(t, http.MethodPost, stringField(t, controls, "password", "create"), token,
		map[string]string{"email": pod.Email, "password": pod.Password})
	login := s.accountRequest(t, http.MethodPost, stringField(t, controls, "password", "login"), "",
		map[string]string{"email": pod.Email, "password": pod.Password})
	pod.AccountToken = stringField(t, login, "authorization")

	result := s.accountRequest(t, http.MethodPost, stringField(t, controls, "account", "pod"), pod.AccountToken,
		map[string]string{"name": name})
	pod.BaseURL = stringField(t, result, "pod")
	pod.WebID = stringField(t, result, "webId")
	pod.PodID = lastSegment(t, stringField(t, result, "podResource"))
	if want := s.PodURL(name); pod.BaseURL != want {
		t.Fatalf("CSS created pod %q at %s, expected %s", name, pod.BaseURL, want)
	}
	s.checkPodAccount(t, pod)

	s.openPod(t, pod)
	return pod
}

func (s *Server) nextPodName(t testing.TB) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.podCount++
	return fmt.Sprintf("pod%d-%s", s.podCount, randomHex(t, 3))
}

// accountRequest sends a JSON request to the account API and returns the decoded JSON response.
// token, when not empty, goes into the CSS-Account-Token authorization header.
func (s *Server) accountRequest(t testing.TB, method, target, token string, body any) map[string]any {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode account API request to %s: %v", target, err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, reader)
	if err != nil {
		t.Fatalf("build account API request %s %s: %v", method, target, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "CSS-Account-Token "+token)
	}

	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("account API request %s %s failed: %v", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read account API response of %s %s: %v", method, target, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("account API request %s %s returned %s: %s", method, target, resp.Status, data)
	}

	var decoded map[string]any
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatalf("decode account API response of %s %s: %v: %s", method, target, err, data)
	}
	return decoded
}

// accountControls returns the controls of the account API index for a logged-in account, which
// contain the account-specific URLs.
func (s *Server) accountControls(t testing.TB, token string) map[string]any {
	t.Helper()
	index := s.accountRequest(t, http.MethodGet, s.BaseURL+".account/", token, nil)
	controls, ok := index["controls"].(map[string]any)
	if !ok {
		t.Fatalf("account API index %s.account/ has no controls object: %v", s.BaseURL, index)
	}
	return controls
}

// checkPodAccount compares the account id taken from the account URL with the one CSS stored in
// its pod index (file backend, .internal/accounts/index/pod/<pod id>$.json in CSS 7.2).
func (s *Server) checkPodAccount(t testing.TB, pod Pod) {
	t.Helper()
	root := s.DataDir
	if s.layout == SubdomainLayout {
		// The subdomain file mapper stores the resources of the base URL itself, .internal
		// included, in the "www" folder.
		root = filepath.Join(root, subdomainBaseFolder)
	}
	path := filepath.Join(root, ".internal", "accounts", "index", "pod", pod.PodID+"$.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the CSS pod index entry of pod %s: %v", pod.Name, err)
	}
	var entry struct {
		Payload []string `json:"payload"`
	}
	if err := json.Unmarshal(data, &entry); err != nil {
		t.Fatalf("decode the CSS pod index entry %s: %v", path, err)
	}
	if len(entry.Payload) != 1 || entry.Payload[0] != pod.AccountID {
		t.Fatalf("CSS stores pod %s under account %v, expected %s", pod.Name, entry.Payload, pod.AccountID)
	}
}

const publicACL = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.

# Every agent, authenticated or not, has full access to every resource in this pod.
<#public>
    a acl:Authorization;
    acl:agentClass foaf:Agent;
    acl:accessTo <./>;
    acl:default <./>;
    acl:mode acl:Read, acl:Write, acl:Append, acl:Control.

<#owner>
    a acl:Authorization;
    acl:agent <%s>;
    acl:accessTo <./>;
    acl:default <./>;
    acl:mode acl:Read, acl:Write, acl:Append, acl:Control.
`

// openPod grants every agent full access to the pod, as CreatePod documents.
func (s *Server) openPod(t testing.TB, pod Pod) {
	t.Helper()
	dir := filepath.Join(s.DataDir, pod.Name)
	rootACL := filepath.Join(dir, ".acl")
	if _, err := os.Stat(rootACL); err != nil {
		t.Fatalf("pod %s has no root ACL in the CSS file backend: %v", pod.Name, err)
	}
	err := filepath.WalkDir(dir, func(path string, entry os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !entry.IsDir() && strings.HasSuffix(entry.Name(), ".acl") && path != rootACL {
			return os.Remove(path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("remove the resource ACLs of pod %s: %v", pod.Name, err)
	}
	if err := os.WriteFile(rootACL, []byte(fmt.Sprintf(publicACL, pod.WebID)), 0o644); err != nil {
		t.Fatalf("write the root ACL of pod %s: %v", pod.Name, err)
	}

	resp, err := s.client.Head(pod.BaseURL)
	if err != nil {
		t.Fatalf("HEAD %s failed: %v", pod.BaseURL, err)
	}
	_ = resp.Body.Close()
	allow := resp.Header.Get("WAC-Allow")
	if resp.StatusCode != http.StatusOK || !publicHasAllModes(allow) {
		t.Fatalf("pod %s is not open to the public after its ACL was rewritten: HEAD returned %s with WAC-Allow %q",
			pod.Name, resp.Status, allow)
	}
}

// publicHasAllModes reports whether a WAC-Allow header, such as
// `user="append control read write",public="read"`, grants the public every access mode.
func publicHasAllModes(wacAllow string) bool {
	for _, group := range strings.Split(wacAllow, ",") {
		name, modes, ok := strings.Cut(strings.TrimSpace(group), "=")
		if !ok || strings.TrimSpace(name) != "public" {
			continue
		}
		granted := map[string]bool{}
		for _, mode := range strings.Fields(strings.Trim(strings.TrimSpace(modes), `"`)) {
			granted[mode] = true
		}
		return granted["read"] && granted["write"] && granted["append"] && granted["control"]
	}
	return false
}

func stringField(t testing.TB, object map[string]any, path ...string) string {
	t.Helper()
	var value any = object
	for _, key := range path {
		m, ok := value.(map[string]any)
		if !ok {
			t.Fatalf("account API response has no field %s: %v", strings.Join(path, "."), object)
		}
		value = m[key]
	}
	text, ok := value.(string)
	if !ok || text == "" {
		t.Fatalf("account API response has no string field %s: %v", strings.Join(path, "."), object)
	}
	return text
}

// lastSegment returns the last path segment of a URL such as
// http://127.0.0.1:PORT/.account/account/<id>/.
func lastSegment(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("invalid URL %q in account API response: %v", rawURL, err)
	}
	segments := strings.Split(strings.Trim(u.Path, "/"), "/")
	last := segments[len(segments)-1]
	if last == "" {
		t.Fatalf("URL %q in account API response has no id segment", rawURL)
	}
	return last
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("read random bytes: %v", err)
	}
	return hex.EncodeToString(b)
}
