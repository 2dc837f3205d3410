package recount

import (
	"net/url"
	"reflect"
	"testing"
)

func TestContainedIRIs(t *testing.T) {
	doc := `@prefix dc: <http://purl.org/dc/terms/>.
@prefix ldp: <http://www.w3.org/ns/ldp#>.
@prefix posix: <http://www.w3.org/ns/posix/stat#>.
# A comment with ldp:contains <nope>.
<> a ldp:Container, ldp:BasicContainer, ldp:Resource;
    dc:title "A title; with ldp:contains <fake> inside", """long
string""";
    dc:modified "2024-01-01T00:00:00.000Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>;
    ldp:contains <file.txt>, <sub/>, <https://pods.example/alice/abs.ttl>;
    posix:mtime 1704067200.
<file.txt> a ldp:Resource; posix:size 12.
<http://example/other> <http://www.w3.org/ns/ldp#contains> [ a ldp:Resource ], <deep/x>.
`
	base, _ := url.Parse("https://pods.example/alice/")
	got, err := containedIRIs(doc, base)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://pods.example/alice/file.txt", "https://pods.example/alice/sub/",
		"https://pods.example/alice/abs.ttl", "https://pods.example/alice/deep/x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("containedIRIs = %v, want %v", got, want)
	}
}

func TestContainedIRIsRejectsBrokenTurtle(t *testing.T) {
	base, _ := url.Parse("https://pods.example/")
	for _, doc := range []string{`<> <p> "unterminated`, `<> <p> <unterminated`, `<> <p> [ a <x> .`} {
		if _, err := containedIRIs(doc, base); err == nil {
			t.Errorf("containedIRIs(%q) returned no error", doc)
		}
	}
}
