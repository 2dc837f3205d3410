package solid

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"xpod.dev/quota-operator/internal/testutil/solidtest"
)

const basicContainerLink = `<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"`

const noteTurtle = `@prefix dc: <http://purl.org/dc/terms/>.

<#note> dc:title "First note";
    dc:description "Written through the enforcer.".
`

const postedTurtle = `<#entry> <http://purl.org/dc/terms/title> "Posted into the notes container".
`

// n3Patch inserts two triples with an N3 Patch (solid:InsertDeletePatch).
const n3Patch = `@prefix solid: <http://www.w3.org/ns/solid/terms#>.
@prefix dc: <http://purl.org/dc/terms/>.

_:patch a solid:InsertDeletePatch;
    solid:inserts { <#note> dc:subject "metering", "quotas". }.
`

const sparqlUpdate = `PREFIX dc: <http://purl.org/dc/terms/>
INSERT DATA { <#note> dc:creator "A client that writes a longer value with SPARQL Update". }
`

const noteACL = `@prefix acl: <http://www.w3.org/ns/auth/acl#>.
@prefix foaf: <http://xmlns.com/foaf/0.1/>.

<#public> a acl:Authorization;
    acl:agentClass foaf:Agent;
    acl:accessTo <a.ttl>;
    acl:mode acl:Read, acl:Write, acl:Control.
`

// TestOperationsMeterStorage runs each kind of Solid write through the enforcer and checks after
// every step that the usage rows contain the storage CSS then stores and the exact body bytes sent
// and received.
func TestOperationsMeterStorage(t *testing.T) {
	e := newEnv(t)
	pod := e.createPod()
	base := e.baseline(pod)
	t.Logf("pod %s stores %d bytes of documents and ACLs after seeding", pod.BaseURL, base)

	// Containers are not counted, however they are created.
	resp := e.do(pod, http.MethodPut, "notes/", nil, "Content-Type", "text/turtle")
	checkStatus(t, "PUT notes/", resp, http.StatusCreated)
	resp = e.do(pod, http.MethodPost, "", nil, "Content-Type", "text/turtle", "Link", basicContainerLink,
		"Slug", "media")
	checkStatus(t, "POST of a BasicContainer", resp, http.StatusCreated)
	if got, want := resp.header.Get("Location"), pod.URL("media/"); got != want {
		t.Fatalf("POST of a BasicContainer created %q, expected %q", got, want)
	}
	checkStorage(t, "after creating two containers", e.checkUsage(pod, base), 0)

	resp = e.do(pod, http.MethodPut, "notes/a.ttl", []byte(noteTurtle), "Content-Type", "text/turtle")
	checkStatus(t, "PUT notes/a.ttl", resp, http.StatusCreated)
	want := int64(len(noteTurtle))
	checkStorage(t, "after PUT of Turtle", e.checkUsage(pod, base), want)

	photo := pattern(3000)
	resp = e.do(pod, http.MethodPut, "media/photo.bin", photo, "Content-Type", "application/octet-stream")
	checkStatus(t, "PUT media/photo.bin", resp, http.StatusCreated)
	want += 3000
	checkStorage(t, "after PUT of 3000 binary bytes", e.checkUsage(pod, base), want)

	resp = e.do(pod, http.MethodPut, "media/photo.bin", photo[:1200], "Content-Type", "application/octet-stream")
	checkStatus(t, "PUT over media/photo.bin", resp, http.StatusResetContent)
	want -= 1800
	checkStorage(t, "after overwriting 3000 bytes with 1200", e.checkUsage(pod, base), want)

	resp = e.do(pod, http.MethodPost, "notes/", []byte(postedTurtle), "Content-Type", "text/turtle")
	checkStatus(t, "POST into notes/", resp, http.StatusCreated)
	posted := resp.header.Get("Location")
	if !strings.HasPrefix(posted, pod.URL("notes/")) || strings.HasSuffix(posted, "/") {
		t.Fatalf("POST into notes/ created %q, expected a document in %s", posted, pod.URL("notes/"))
	}
	postedRef := strings.TrimPrefix(posted, pod.BaseURL)
	want += int64(len(postedTurtle))
	checkStorage(t, "after POST into a container", e.checkUsage(pod, base), want)

	// A patch makes CSS serialise the document again, so its new size is read from CSS.
	before := documentSize(t, pod, "notes/a.ttl")
	resp = e.do(pod, http.MethodPatch, "notes/a.ttl", []byte(n3Patch), "Content-Type", "text/n3")
	checkStatus(t, "PATCH notes/a.ttl with N3 Patch", resp, http.StatusResetContent)
	afterN3 := documentSize(t, pod, "notes/a.ttl")
	if !bytes.Contains(fetchFromCSS(t, pod, "notes/a.ttl"), []byte("quotas")) {
		t.Fatalf("CSS did not apply the N3 Patch to notes/a.ttl")
	}
	want += afterN3 - before
	checkStorage(t, "after N3 Patch", e.checkUsage(pod, base), want)

	resp = e.do(pod, http.MethodPatch, "notes/a.ttl", []byte(sparqlUpdate), "Content-Type", "application/sparql-update")
	checkStatus(t, "PATCH notes/a.ttl with SPARQL Update", resp, http.StatusResetContent)
	afterSPARQL := documentSize(t, pod, "notes/a.ttl")
	if afterSPARQL <= afterN3 {
		t.Fatalf("notes/a.ttl has %d bytes after SPARQL Update, expected more than the %d before it", afterSPARQL, afterN3)
	}
	want += afterSPARQL - afterN3
	checkStorage(t, "after SPARQL Update", e.checkUsage(pod, base), want)

	resp = e.do(pod, http.MethodPut, "notes/a.ttl.acl", []byte(noteACL), "Content-Type", "text/turtle")
	checkStatus(t, "PUT notes/a.ttl.acl", resp, http.StatusCreated)
	want += int64(len(noteACL))
	checkStorage(t, "after PUT of an ACL", e.checkUsage(pod, base), want)

	// Reads change no storage. GET sends the document; HEAD and 304 send no body bytes.
	resp = e.do(pod, http.MethodGet, "notes/a.ttl", nil)
	checkStatus(t, "GET notes/a.ttl", resp, http.StatusOK)
	if int64(len(resp.body)) != afterSPARQL {
		t.Errorf("GET notes/a.ttl sent %d body bytes, expected the %d bytes CSS stores", len(resp.body), afterSPARQL)
	}
	etag := resp.header.Get("ETag")
	if etag == "" {
		t.Fatalf("GET notes/a.ttl sent no ETag")
	}
	checkStorage(t, "after GET", e.checkUsage(pod, base), want)
	egressAfterGET := e.podUsage(pod.Name).egress

	resp = e.do(pod, http.MethodHead, "notes/a.ttl", nil)
	checkStatus(t, "HEAD notes/a.ttl", resp, http.StatusOK)
	resp = e.do(pod, http.MethodGet, "notes/a.ttl", nil, "If-None-Match", etag)
	checkStatus(t, "conditional GET notes/a.ttl", resp, http.StatusNotModified)
	checkStorage(t, "after HEAD and a 304", e.checkUsage(pod, base), want)
	if egress := e.podUsage(pod.Name).egress; egress != egressAfterGET {
		t.Errorf("egress went from %d to %d bytes with HEAD and a 304, expected no change", egressAfterGET, egress)
	}

	// Deleting a document also deletes its ACL.
	resp = e.do(pod, http.MethodDelete, "notes/a.ttl", nil)
	checkStatus(t, "DELETE notes/a.ttl", resp, http.StatusResetContent)
	e.checkAbsent(pod, "notes/a.ttl.acl")
	want -= afterSPARQL + int64(len(noteACL))
	checkStorage(t, "after DELETE of a document with an ACL", e.checkUsage(pod, base), want)

	resp = e.do(pod, http.MethodDelete, postedRef, nil)
	checkStatus(t, "DELETE of the posted document", resp, http.StatusResetContent)
	resp = e.do(pod, http.MethodDelete, "notes/", nil)
	checkStatus(t, "DELETE of the emptied notes/", resp, http.StatusResetContent)
	want -= int64(len(postedTurtle))
	checkStorage(t, "after emptying and deleting notes/", e.checkUsage(pod, base), want)

	resp = e.do(pod, http.MethodDelete, "media/photo.bin", nil)
	checkStatus(t, "DELETE media/photo.bin", resp, http.StatusResetContent)
	resp = e.do(pod, http.MethodDelete, "media/", nil)
	checkStatus(t, "DELETE of the emptied media/", resp, http.StatusResetContent)
	checkStorage(t, "after deleting everything written", e.checkUsage(pod, base), 0)

	tr := e.expectedTransfer(pod)
	t.Logf("pod %s: ingress %d bytes, egress %d bytes", pod.Name, tr.ingress, tr.egress)
	e.checkNoNegativeCounters()
}

func checkStatus(t *testing.T, request string, resp response, want int) {
	t.Helper()
	if resp.status != want {
		t.Fatalf("%s returned %d, expected %d: %s", request, resp.status, want, truncate(resp.body, 300))
	}
}

// checkStorage compares the storage CSS stores beyond the seeded content with the sizes the test
// wrote.
func checkStorage(t *testing.T, step string, got, want int64) {
	t.Helper()
	if got != want {
		t.Errorf("%s: CSS stores %d bytes of documents and ACLs beyond the seeded ones, expected %d", step, got, want)
	}
}

// documentSize measures one document straight on CSS.
func documentSize(t *testing.T, pod solidtest.Pod, ref string) int64 {
	t.Helper()
	resource, ok := pod.Storage(t).Lookup(pod.URL(ref))
	if !ok {
		t.Fatalf("CSS does not hold %s", pod.URL(ref))
	}
	return resource.Size
}

func fetchFromCSS(t *testing.T, pod solidtest.Pod, ref string) []byte {
	t.Helper()
	resp, err := pod.Client().Get(pod.URL(ref))
	if err != nil {
		t.Fatalf("GET %s on CSS failed: %v", pod.URL(ref), err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatalf("read GET %s on CSS: %v", pod.URL(ref), err)
	}
	return body.Bytes()
}

// pattern returns n bytes that are not valid UTF-8 text, as a binary upload.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
