package report

import (
	"math"
	"math/big"
	"testing"
)

func TestHumanBytes(t *testing.T) {
	cases := []struct {
		bytes int64
		want  string
	}{
		{0, "0"},
		{1023, "1023"},
		{1024, "1Ki"},
		{1536, "1.5Ki"},
		{1024*1024 - 1, "1Mi"}, // 1023.999Ki rounds up into the next unit.
		{1288490189, "1.2Gi"},
		{10 << 30, "10Gi"},
		{1280, "1.3Ki"}, // 1.25Ki rounds half up.
		{1279, "1.2Ki"},
		{7 << 60, "7Ei"},
		{math.MaxInt64, "8Ei"},
		{-1536, "-1.5Ki"},
		{math.MinInt64, "-8Ei"},
	}
	for _, tc := range cases {
		if got := humanBytes(tc.bytes); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.bytes, got, tc.want)
		}
	}
}

func TestHumanBigBytesAboveInt64(t *testing.T) {
	maxSum := new(big.Int).Mul(big.NewInt(math.MaxInt64), big.NewInt(2))
	if got := humanBigBytes(maxSum); got != "16Ei" {
		t.Errorf("humanBigBytes(2^64-2) = %q, want 16Ei", got)
	}
	minSum := new(big.Int).Mul(big.NewInt(math.MinInt64), big.NewInt(2))
	if got := humanBigBytes(minSum); got != "-18446744073709551616" {
		t.Errorf("humanBigBytes(-2^64) = %q, want the exact value", got)
	}
}

func TestStoragePercent(t *testing.T) {
	cases := []struct {
		used, limit int64
		want        string
	}{
		{0, 100, "0.0"},
		{1, 3, "33.3"},
		{2, 3, "66.6"}, // rounded down, like the alert thresholds
		{799, 1000, "79.9"},
		{150, 100, "150.0"},
		{0, 0, "0.0"},
		{1, 0, "100.0"},
		{-5, 100, "0.0"},
		{math.MaxInt64, math.MaxInt64, "100.0"},
		{math.MaxInt64, 1, "922337203685477580700.0"},
		{math.MaxInt64 - 1, math.MaxInt64, "99.9"},
	}
	for _, tc := range cases {
		a := Account{StorageBytes: tc.used, StorageLimit: Limit{Value: tc.limit}}
		if got := a.StoragePercent(); got != tc.want {
			t.Errorf("StoragePercent(%d of %d) = %q, want %q", tc.used, tc.limit, got, tc.want)
		}
	}
}
