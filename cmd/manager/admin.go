package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	ctrl "sigs.k8s.io/controller-runtime"

	"xpod.dev/quota-operator/controllers"
	"xpod.dev/quota-operator/internal/adminapi"
)

// adminFlags are the command-line flags of the Quota Admin API.
type adminFlags struct {
	bindAddress         string
	tlsCertFile         string
	tlsKeyFile          string
	tokenFile           string
	tokenReloadInterval time.Duration
}

// bindAdminFlags registers the admin API's flags on fs.
func bindAdminFlags(fs *flag.FlagSet) *adminFlags {
	f := &adminFlags{}
	fs.StringVar(&f.bindAddress, "admin-bind-address", "",
		"address the Quota Admin API listens on, such as :8443; empty disables the API")
	fs.StringVar(&f.tlsCertFile, "admin-tls-cert-file", "",
		"PEM certificate file of the admin API; with --admin-tls-key-file the API serves HTTPS and reloads both "+
			"when they change")
	fs.StringVar(&f.tlsKeyFile, "admin-tls-key-file", "", "PEM private key file of the admin API's certificate")
	fs.StringVar(&f.tokenFile, "admin-token-file", "",
		"file that holds the admin API's bearer token, such as a key of a mounted Secret; required with "+
			"--admin-bind-address. While it is missing or empty the API answers 503 to every request")
	fs.DurationVar(&f.tokenReloadInterval, "admin-token-reload-interval", adminapi.DefaultTokenReloadInterval,
		"how often the admin token file is read again, so a rotated token takes effect without a restart")
	return f
}

// setupAdminAPI adds the Quota Admin API server to mgr when --admin-bind-address is set. Call it
// after controllers.Setup, which registers the cache index of AccountQuotas by account id that
// the API uses to find the AccountQuota managing an account.
func setupAdminAPI(mgr ctrl.Manager, pool *pgxpool.Pool, defaults controllers.Defaults, f *adminFlags) error {
	logger := ctrl.Log.WithName("admin-api")
	if f.bindAddress == "" {
		logger.Info("Admin API disabled; set --admin-bind-address to serve it")
		return nil
	}
	if err := f.validate(); err != nil {
		return err
	}
	if f.tlsCertFile == "" {
		logger.Info("Admin API serves plain HTTP; set --admin-tls-cert-file and --admin-tls-key-file "+
			"unless a TLS-terminating proxy or a private network protects the token", "address", f.bindAddress)
	}

	tokens := adminapi.NewTokenFile(f.tokenFile, f.tokenReloadInterval, logger)
	handler, err := adminapi.NewHandler(adminapi.Options{
		Pool: pool,
		Defaults: adminapi.Defaults{
			StorageLimitBytes: defaults.StorageBytes,
			BandwidthLimitBps: defaults.BandwidthBytesPerSecond,
		},
		Owners: adminapi.IndexedOwnerLookup{Reader: mgr.GetClient()},
		Tokens: tokens,
		Logger: logger,
	})
	if err != nil {
		return fmt.Errorf("create admin API handler: %w", err)
	}
	server := &adminapi.Server{
		Addr:     f.bindAddress,
		CertFile: f.tlsCertFile,
		KeyFile:  f.tlsKeyFile,
		Handler:  handler,
		Tokens:   tokens,
		Logger:   logger,
	}
	if err := mgr.Add(server); err != nil {
		return fmt.Errorf("add admin API server: %w", err)
	}
	return nil
}

func (f *adminFlags) validate() error {
	if f.tokenFile == "" {
		return errors.New("--admin-token-file is required with --admin-bind-address: " +
			"mount a Secret with the admin token and name its file")
	}
	if (f.tlsCertFile == "") != (f.tlsKeyFile == "") {
		return errors.New("set both --admin-tls-cert-file and --admin-tls-key-file, or neither for plain HTTP")
	}
	if f.tokenReloadInterval <= 0 {
		return fmt.Errorf("invalid --admin-token-reload-interval %s: use a positive duration such as 5s",
			f.tokenReloadInterval)
	}
	return nil
}
