package controllers

import "testing"

func TestShortQuantity(t *testing.T) {
	cases := map[int64]string{
		0: "0", 512: "512", 1024: "1Ki", 1536: "1.5Ki", 1288490188: "1.2Gi", 15 << 20: "15Mi",
		20 << 30: "20Gi", 1<<63 - 1: "8Ei",
	}
	for in, want := range cases {
		if got := shortQuantity(in); got != want {
			t.Errorf("shortQuantity(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestRoundRate(t *testing.T) {
	cases := []struct {
		in   float64
		want int64
	}{
		{in: 0, want: 0},
		{in: 1023, want: 0},
		{in: 1024, want: 1024},
		{in: 1.23 * 1048576, want: 12 * 1048576 / 10},
		{in: 1.26 * 1048576, want: 13 * 1048576 / 10},
		{in: 15.4 * 1048576, want: 15 * 1048576},
		{in: 123 * 1048576, want: 120 * 1048576},
	}
	for _, tc := range cases {
		if got := roundRate(tc.in); got != tc.want {
			t.Errorf("roundRate(%.0f) = %d, want %d", tc.in, got, tc.want)
		}
	}
	// Small jitter around a steady rate gives the same figure.
	if roundRate(5.01*1048576) != roundRate(5.04*1048576) {
		t.Error("jitter of under 1% changed the rounded rate")
	}
}
