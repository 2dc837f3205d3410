package adminapi

import (
	"errors"
	"testing"
)

func TestParseWholeNumber(t *testing.T) {
	t.Parallel()
	cases := []struct {
		literal string
		want    int64
		wantErr error
	}{
		{"0", 0, nil},
		{"-0", 0, nil},
		{"0.000", 0, nil},
		{"0e999999999", 0, nil},
		{"1", 1, nil},
		{"10737418240", 10737418240, nil},
		{"9223372036854775807", maxLimit, nil},
		{"9223372036854775807.000", maxLimit, nil},
		{"922337203685477580.7e1", maxLimit, nil},
		{"9.223372036854775807e18", maxLimit, nil},
		{"1e3", 1000, nil},
		{"1E3", 1000, nil},
		{"1e+3", 1000, nil},
		{"1.5e1", 15, nil},
		{"1000e-3", 1, nil},
		{"120e-1", 12, nil},
		{"1e18", 1_000_000_000_000_000_000, nil},
		{"00012", 12, nil},

		{"-1", 0, errNegative},
		{"-1.5", 0, errNegative},
		{"-9223372036854775808", 0, errNegative},
		{"1.5", 0, errFraction},
		{"0.1", 0, errFraction},
		{"1e-1", 0, errFraction},
		{"1501e-3", 0, errFraction},
		{"5e-1", 0, errFraction},
		{"1e-99999", 0, errFraction},
		{"9223372036854775807.5", 0, errFraction},
		{"9223372036854775808", 0, errTooLarge},
		{"9223372036854775808.0", 0, errTooLarge},
		{"18446744073709551616", 0, errTooLarge},
		{"99999999999999999999999", 0, errTooLarge},
		{"1e19", 0, errTooLarge},
		{"9.3e18", 0, errTooLarge},
		{"1e99999", 0, errTooLarge},

		{"", 0, errMalformed},
		{"-", 0, errMalformed},
		{".5", 0, errMalformed},
		{"1e", 0, errMalformed},
		{"1e+", 0, errMalformed},
		{"0e", 0, errMalformed},
		{"1x", 0, errMalformed},
		{"10Gx", 0, errMalformed},
		{"0x10", 0, errMalformed},
		{"1_000", 0, errMalformed},
		{"Infinity", 0, errMalformed},
		{"NaN", 0, errMalformed},
	}
	for _, c := range cases {
		got, err := parseWholeNumber(c.literal)
		if !errors.Is(err, c.wantErr) {
			t.Errorf("parseWholeNumber(%q) error = %v, want %v", c.literal, err, c.wantErr)
			continue
		}
		if got != c.want {
			t.Errorf("parseWholeNumber(%q) = %d, want %d", c.literal, got, c.want)
		}
	}
}
