package main

import (
	"bufio"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	quotav1 "xpod.dev/quota-operator/api/v1alpha1"
	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/enforcer/limits"
	"xpod.dev/quota-operator/internal/enforcer/resolve"
)

// commonFlags are the flags the proxy and the recount share.
type commonFlags struct {
	databaseURL      database.URLSource
	upstream         string
	resolver         string
	baseDomain       string
	accountMap       string
	accountMapFile   string
	rejectUnmapped   bool
	excludedSegments string
	podRefresh       time.Duration
	measureHeader    string
	logLevel         string
}

func (c *commonFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.databaseURL.Flag, "database-url", "",
		"PostgreSQL connection URL; when empty, the DATABASE_URL environment variable or --database-url-file is used")
	fs.StringVar(&c.databaseURL.File, "database-url-file", "",
		"file that holds the PostgreSQL connection URL, such as a key of a mounted Secret")
	fs.StringVar(&c.upstream, "upstream", "", "pod server base URL, scheme and host only, such as http://css:3000")
	fs.StringVar(&c.resolver, "pod-resolver", "path",
		"how a request's pod is found: path (first path segment), subdomain (first host label under "+
			"--base-domain) or xpod (longest baseUrl prefix from Xpod's identity_pod table)")
	fs.StringVar(&c.baseDomain, "base-domain", "", "domain whose subdomains are pods, for --pod-resolver=subdomain")
	fs.StringVar(&c.accountMap, "account-map", "",
		"comma-separated pod=account pairs for the path and subdomain resolvers; unlisted pods belong to the "+
			"account named like the pod")
	fs.StringVar(&c.accountMapFile, "account-map-file", "",
		"file with one pod=account pair per line (# starts a comment), merged with --account-map")
	fs.BoolVar(&c.rejectUnmapped, "reject-unmapped-pods", false,
		"answer 404 for pods missing from a non-empty account map instead of treating the pod name as the account")
	fs.StringVar(&c.excludedSegments, "path-exclude", "idp",
		"comma-separated first path segments that are not pods in path mode; segments starting with a dot never are")
	fs.DurationVar(&c.podRefresh, "pod-refresh-interval", 30*time.Second,
		"how often the xpod resolver reloads identity_pod; a request for an unknown URL also reloads it, at most once a second")
	fs.StringVar(&c.measureHeader, "measure-header-file", "",
		"file with one 'Name: value' header line sent when the enforcer reads a resource's size from the pod "+
			"server, such as an Authorization header of an identity that may read every pod")
	fs.StringVar(&c.logLevel, "log-level", "info", "minimum log level: debug, info, warn or error")
}

func (c *commonFlags) upstreamURL() (*url.URL, error) {
	u, err := url.Parse(c.upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid --upstream %q: use the pod server's URL, such as http://css:3000", c.upstream)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("invalid --upstream %q: the URL must not have a path; pods are addressed by the "+
			"request's own path", c.upstream)
	}
	return u, nil
}

func (c *commonFlags) resolverOptions() (resolve.Options, error) {
	accounts, err := parseAccountMap(c.accountMap, c.accountMapFile)
	if err != nil {
		return resolve.Options{}, err
	}
	var excluded []string
	for _, s := range strings.Split(c.excludedSegments, ",") {
		if s = strings.TrimSpace(s); s != "" {
			excluded = append(excluded, s)
		}
	}
	return resolve.Options{Accounts: accounts, RejectUnmapped: c.rejectUnmapped, ExcludedSegments: excluded,
		BaseDomain: c.baseDomain, RefreshInterval: c.podRefresh, MissRefreshInterval: time.Second}, nil
}

// parseAccountMap reads pod=account pairs from the flag value and the file.
func parseAccountMap(pairs, file string) (map[string]string, error) {
	accounts := map[string]string{}
	lines := strings.Split(pairs, ",")
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read --account-map-file: %w", err)
		}
		lines = append(lines, strings.Split(string(data), "\n")...)
	}
	for _, line := range lines {
		line, _, _ = strings.Cut(line, "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		pod, account, ok := strings.Cut(line, "=")
		pod, account = strings.TrimSpace(pod), strings.TrimSpace(account)
		if !ok || pod == "" || account == "" {
			return nil, fmt.Errorf("invalid account map entry %q: use pod=account", line)
		}
		accounts[pod] = account
	}
	return accounts, nil
}

// readHeaderFile reads one "Name: value" line.
func readHeaderFile(file string) (http.Header, error) {
	if file == "" {
		return nil, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read --measure-header-file: %w", err)
	}
	defer func() { _ = f.Close() }()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return nil, fmt.Errorf("read --measure-header-file: the file is empty; write one 'Name: value' line")
	}
	name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
	if !ok || strings.TrimSpace(name) == "" {
		return nil, fmt.Errorf("invalid --measure-header-file: expected one 'Name: value' line")
	}
	h := http.Header{}
	h.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	return h, nil
}

// parseDefaults converts the default limit flags, which are Kubernetes quantities.
func parseDefaults(storage, bandwidth string) (limits.Defaults, error) {
	s, err := parseBytes("--default-storage-limit", storage)
	if err != nil {
		return limits.Defaults{}, err
	}
	b, err := parseBytes("--default-bandwidth-limit", bandwidth)
	if err != nil {
		return limits.Defaults{}, err
	}
	return limits.Defaults{StorageBytes: s, BandwidthBps: b}, nil
}

func parseBytes(flagName, value string) (int64, error) {
	q, err := resource.ParseQuantity(value)
	if err != nil {
		return 0, fmt.Errorf("invalid %s %q: use a quantity of bytes such as 10Gi or 10Mi", flagName, value)
	}
	n, ok := quotav1.QuantityBytes(&q)
	if !ok || n == nil {
		return 0, fmt.Errorf("invalid %s %q: use a whole, non-negative number of bytes", flagName, value)
	}
	return *n, nil
}

func parseLevel(level string) (slog.Level, error) {
	switch strings.ToLower(level) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", level)
}
