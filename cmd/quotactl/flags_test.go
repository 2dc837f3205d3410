package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"720h", 720 * time.Hour},
		{"30d", 30 * 24 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"0d90m", 90 * time.Minute},
		{"1.5h", 90 * time.Minute},
		{"106751d", 106751 * 24 * time.Hour},
	}
	for _, tc := range cases {
		got, err := parseSince(tc.value)
		if err != nil {
			t.Errorf("parseSince(%q): %v", tc.value, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseSince(%q) = %s, want %s", tc.value, got, tc.want)
		}
	}
	for _, value := range []string{"30", "d", "1.5d", "-1h", "-1d", "0", "0d", "1d-1h", "30days", "1w", "200000d"} {
		if got, err := parseSince(value); err == nil {
			t.Errorf("parseSince(%q) = %s, want an error", value, got)
		}
	}
}

func TestParseBytes(t *testing.T) {
	cases := []struct {
		value string
		want  int64
	}{
		{"0", 0},
		{"10Gi", 10 << 30},
		{"10Mi", 10 << 20},
		{"1G", 1_000_000_000},
		{"7Ei", 7 << 60},
		{"9223372036854775807", math.MaxInt64},
	}
	for _, tc := range cases {
		got, err := parseBytes("--default-storage-limit", tc.value)
		if err != nil {
			t.Errorf("parseBytes(%q): %v", tc.value, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseBytes(%q) = %d, want %d", tc.value, got, tc.want)
		}
	}
	for _, value := range []string{"", "ten", "-1", "1.5", "0.1Ki", "8Ei", "16Ei", "9223372036854775808", "1Ei1"} {
		if got, err := parseBytes("--default-storage-limit", value); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", value, got)
		}
	}
}

func TestProgramName(t *testing.T) {
	cases := map[string]string{
		"quotactl":                          "quotactl",
		"/usr/local/bin/quotactl":           "quotactl",
		"kubectl-quota":                     "kubectl quota",
		"/home/ops/.krew/bin/kubectl-quota": "kubectl quota",
		"kubectl-quota.exe":                 "kubectl quota",
		"./build/quotactl-linux-amd64":      "quotactl",
	}
	for argv0, want := range cases {
		if got := programName(argv0); got != want {
			t.Errorf("programName(%q) = %q, want %q", argv0, got, want)
		}
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	commonFlags := []string{"--database-url URL", "--database-url-file FILE", "-o, --output FORMAT",
		"--since DURATION", "--default-storage-limit QUANTITY", "--default-bandwidth-limit QUANTITY",
		"bytes per second", "(default 10Gi)", "(default 10Mi)", "(default table)", "d (24 hours)"}
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"quotactl report [flags]", "quotactl top [flags]"}},
		{[]string{"help"}, []string{"quotactl report [flags]", "quotactl top [flags]"}},
		{[]string{"report", "--help"}, append([]string{"Usage: quotactl report [flags]"}, commonFlags...)},
		{[]string{"report", "-h"}, []string{"Usage: quotactl report [flags]"}},
		{[]string{"top", "--help"}, append([]string{"Usage: quotactl top [flags]", "--limit NUMBER",
			"(default 10)", "--by METRIC", "(default storage)", "traffic (ingress plus egress)"}, commonFlags...)},
	}
	for _, tc := range cases {
		got := runCommand(tc.args...)
		if got.code != exitOK {
			t.Errorf("%v: exit code = %d, want 0", tc.args, got.code)
		}
		for _, want := range tc.want {
			if !strings.Contains(got.stdout, want) {
				t.Errorf("%v printed:\n%s\nwant it to contain %q", tc.args, got.stdout, want)
			}
		}
		if got.stderr != "" {
			t.Errorf("%v: stderr = %q, want nothing", tc.args, got.stderr)
		}
	}
}
