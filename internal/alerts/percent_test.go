package alerts

import "testing"

func TestPercent(t *testing.T) {
	cases := []struct{ used, limit, want int64 }{
		{0, 100, 0}, {79, 100, 79}, {80, 100, 80}, {150, 100, 150}, {0, 0, 0}, {1, 0, 100},
		{1<<63 - 1, 1<<63 - 1, 100},
	}
	for _, tc := range cases {
		if got := Percent(tc.used, tc.limit); got != tc.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", tc.used, tc.limit, got, tc.want)
		}
	}
}
