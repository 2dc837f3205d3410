package database_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"xpod.dev/quota-operator/internal/database"
	"xpod.dev/quota-operator/internal/testutil/pgtest"
)

func TestUpsertQuotaTouchesRowOnlyOnChange(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	ctx := context.Background()
	storage := int64(1 << 30)
	q := database.Quota{AccountID: "acct-001", StorageLimitBytes: &storage}

	steps := []struct {
		name string
		want database.UpsertResult
	}{
		{"first write", database.Inserted},
		{"same values", database.Unchanged},
	}
	for _, step := range steps {
		got, err := database.UpsertQuota(ctx, pool, q)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got != step.want {
			t.Errorf("%s: result %d, want %d", step.name, got, step.want)
		}
	}
	before, _ := database.GetQuota(ctx, pool, "acct-001")
	time.Sleep(10 * time.Millisecond)
	if _, err := database.UpsertQuota(ctx, pool, q); err != nil {
		t.Fatal(err)
	}
	after, _ := database.GetQuota(ctx, pool, "acct-001")
	if !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("updated_at moved from %s to %s on an unchanged upsert", before.UpdatedAt, after.UpdatedAt)
	}

	bandwidth := int64(0)
	q.BandwidthLimitBps = &bandwidth
	if got, _ := database.UpsertQuota(ctx, pool, q); got != database.Updated {
		t.Errorf("changed bandwidth: result %d, want Updated", got)
	}
	row, _ := database.GetQuota(ctx, pool, "acct-001")
	if row.BandwidthLimitBps == nil || *row.BandwidthLimitBps != 0 || *row.StorageLimitBytes != storage {
		t.Errorf("row = %+v, want storage %d and bandwidth 0", row, storage)
	}
	if !row.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("updated_at did not move on a change")
	}
}

func TestDeleteQuotaMissingRowSucceeds(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	removed, err := database.DeleteQuota(context.Background(), pool, "acct-none")
	if err != nil || removed {
		t.Fatalf("DeleteQuota of a missing row = (%v, %v), want (false, nil)", removed, err)
	}
}

// TestAccountIDIsAParameter: an account id full of SQL is stored as data and harms nothing.
func TestAccountIDIsAParameter(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	ctx := context.Background()
	storage := int64(1)
	if _, err := database.UpsertQuota(ctx, pool, database.Quota{AccountID: "keep", StorageLimitBytes: &storage}); err != nil {
		t.Fatal(err)
	}
	evil := "acct-001'; DELETE FROM identity_account_quota;--"
	if _, err := database.UpsertQuota(ctx, pool, database.Quota{AccountID: evil}); err != nil {
		t.Fatal(err)
	}
	if _, err := database.GetQuota(ctx, pool, "keep"); err != nil {
		t.Fatalf("row of another account lost: %v", err)
	}
	if _, err := database.DeleteQuota(ctx, pool, evil); err != nil {
		t.Fatal(err)
	}
	if _, err := database.GetQuota(ctx, pool, "keep"); err != nil {
		t.Fatalf("row of another account lost after delete: %v", err)
	}
	if _, err := database.GetQuota(ctx, pool, evil); !errors.Is(err, database.ErrNotFound) {
		t.Fatalf("GetQuota after delete: %v, want ErrNotFound", err)
	}
}

func TestGetQuotasBatch(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewPool(t)
	ctx := context.Background()
	for i, id := range []string{"a", "b", "c"} {
		limit := int64(i)
		if _, err := database.UpsertQuota(ctx, pool, database.Quota{AccountID: id, StorageLimitBytes: &limit}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := database.GetQuotas(ctx, pool, []string{"a", "c", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || *got["a"].StorageLimitBytes != 0 || *got["c"].StorageLimitBytes != 2 {
		t.Fatalf("GetQuotas = %+v, want a=0 and c=2", got)
	}
}

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := database.Connect(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, err = database.GetQuota(ctx, pool, "a")
	if !database.IsUnavailable(err) {
		t.Errorf("IsUnavailable(%v) = false for a refused connection", err)
	}

	good, _ := pgtest.NewPool(t)
	_, err = good.Exec(ctx, "SELECT * FROM no_such_table")
	if database.IsUnavailable(err) {
		t.Errorf("IsUnavailable(%v) = true for a rejected statement", err)
	}
}
