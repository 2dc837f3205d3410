package v1alpha1

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestQuantityBytes(t *testing.T) {
	cases := []struct {
		in     string
		want   int64
		wantOK bool
	}{
		{in: "0", want: 0, wantOK: true},
		{in: "1536", want: 1536, wantOK: true},
		{in: "1.5Ki", want: 1536, wantOK: true},
		{in: "20Gi", want: 20 << 30, wantOK: true},
		{in: "7Ei", want: 7 << 60, wantOK: true},
		{in: "9223372036854775807", want: 1<<63 - 1, wantOK: true},
		{in: "1e3", want: 1000, wantOK: true},
		{in: "-1", wantOK: false},
		{in: "1.5", wantOK: false},
		{in: "1500m", wantOK: false},
		{in: "9223372036854775808", wantOK: false},
		{in: "8Ei", wantOK: false},
		{in: "10Ei", wantOK: false},
	}
	for _, tc := range cases {
		q := resource.MustParse(tc.in)
		got, ok := QuantityBytes(&q)
		if ok != tc.wantOK {
			t.Errorf("QuantityBytes(%s) ok = %v, want %v", tc.in, ok, tc.wantOK)
			continue
		}
		if ok && *got != tc.want {
			t.Errorf("QuantityBytes(%s) = %d, want %d", tc.in, *got, tc.want)
		}
	}
}

func TestQuantityBytesUnset(t *testing.T) {
	got, ok := QuantityBytes(nil)
	if got != nil || !ok {
		t.Fatalf("QuantityBytes(nil) = %v, %v; want nil, true", got, ok)
	}
}

func TestFormatBytes(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 1536: "1536", 20 << 30: "20Gi", 10 << 20: "10Mi", 1000: "1k"} {
		if got := FormatBytes(in); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", in, got, want)
		}
	}
}
