// Package database connects to the PostgreSQL database that the manager and the enforcer share,
// creates the tables they use and runs the queries on identity_account_quota.
//
// The identity_* tables belong to the pod server's schema (Xpod documents them), so they are
// created only when missing and never altered. Tables that this product adds for itself are
// prefixed quota_ and come from the versioned migrations in migrations/.
//
// Every statement is parameterised. The pool's query exec mode follows pgx's
// default_query_exec_mode connection parameter, so a connection string can choose a mode that
// works behind PgBouncer in transaction pooling mode (see docs/database.md).
package database
