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
