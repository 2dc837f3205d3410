package main

import (
	"strings"
	"testing"
)

func TestParseBytesFlag(t *testing.T) {
	cases := []struct {
		value   string
		want    int64
		wantErr string
	}{
		{value: "10Gi", want: 10 << 30},
		{value: "0", want: 0},
		{value: "10Gx", wantErr: "invalid --default-storage-limit \"10Gx\""},
		{value: "-1", wantErr: "whole number of bytes"},
		{value: "1.5", wantErr: "whole number of bytes"},
	}
	for _, tc := range cases {
		got, err := parseBytesFlag("default-storage-limit", tc.value)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseBytesFlag(%q) error = %v, want one containing %q", tc.value, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseBytesFlag(%q) = %d, %v; want %d", tc.value, got, err, tc.want)
		}
	}
}
