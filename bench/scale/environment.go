package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/kubetest"
)

// environment is the API server, a fresh database and a kubeconfig for the manager.
type environment struct {
	kube       *kubetest.Env
	client     client.Client
	pool       *pgxpool.Pool
	dbURL      string
	dir        string
	kubeconfig string
	dropDB     func()
}

func startEnvironment(ctx context.Context) (*environment, error) {
	kube, err := kubetest.Start()
	if err != nil {
		return nil, err
	}
	env := &environment{kube: kube}
	cfg := *kube.Config
	cfg.QPS, cfg.Burst = 2000, 4000
	if env.client, err = client.New(&cfg, client.Options{Scheme: kube.Scheme}); err != nil {
		return nil, err
	}
	if env.dir, err = os.MkdirTemp("", "xpod-quota-scale-"); err != nil {
		return nil, err
	}
	env.kubeconfig = filepath.Join(env.dir, "kubeconfig")
	if err := os.WriteFile(env.kubeconfig, kube.KubeConfig, 0o600); err != nil {
		return nil, err
	}
	if err := env.createDatabase(ctx); err != nil {
		return nil, err
	}
	return env, nil
}

func (e *environment) createDatabase(ctx context.Context) error {
	server := os.Getenv(database.EnvURL)
	if server == "" {
		return fmt.Errorf("DATABASE_URL is not set: run bench/scale.sh")
	}
	name := fmt.Sprintf("quota_scale_%d", time.Now().UnixNano())
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return err
	}
	e.dropDB = func() {
		c, err := pgx.Connect(context.Background(), server)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(context.Background())
		}
	}
	u, err := url.Parse(server)
	if err != nil {
		return err
	}
	u.Path = "/" + name
	e.dbURL = u.String()
	if e.pool, err = database.Connect(ctx, e.dbURL); err != nil {
		return err
	}
	return database.EnsureSchema(ctx, e.pool)
}

// seedUsage writes one pod and one account usage row per account.
func (e *environment) seedUsage(ctx context.Context, count int) error {
	for _, stmt := range []string{
		`INSERT INTO identity_pod_usage (pod_id, account_id, storage_bytes, ingress_bytes, egress_bytes)
		 SELECT 'pod-' || i, 'acct-' || i, i * 1024, i, i FROM generate_series(1, $1) AS i`,
		`INSERT INTO identity_account_usage (account_id, storage_bytes, ingress_bytes, egress_bytes)
		 SELECT 'acct-' || i, i * 1024, i, i FROM generate_series(1, $1) AS i`,
	} {
		if _, err := e.pool.Exec(ctx, stmt, count); err != nil {
			return fmt.Errorf("seed usage rows: %w", err)
		}
	}
	return nil
}

func (e *environment) stop() {
	if e.pool != nil {
		e.pool.Close()
	}
	if e.dropDB != nil {
		e.dropDB()
	}
	_ = e.kube.Stop()
	_ = os.RemoveAll(e.dir)
}
