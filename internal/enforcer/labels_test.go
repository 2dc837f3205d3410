package enforcer

import "testing"

func TestMethodLabelBounded(t *testing.T) {
	cases := map[string]string{"GET": "GET", "PATCH": "PATCH", "PROPFIND": "other", "X-RANDOM-1": "other", "get": "other"}
	for method, want := range cases {
		if got := methodLabel(method); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", method, got, want)
		}
	}
}

func TestFramingReasonLabelBounded(t *testing.T) {
	if got := framingReasonLabel("conflicting-content-length"); got != "conflicting-content-length" {
		t.Errorf("known reason relabelled as %q", got)
	}
	if got := framingReasonLabel("anything a client sends"); got != "forged-marker" {
		t.Errorf("forged reason labelled %q, want forged-marker", got)
	}
}
