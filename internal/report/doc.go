// Package report reads per-account usage from the pod server's tables and writes it as a table,
// CSV or JSON.
//
// Accounts come from identity_account_usage. identity_account (Xpod's accounts, for the e-mail)
// and identity_account_quota (custom limits) are joined when they exist, so the report also
// works on a plain Community Solid Server, which has no identity_account table. The package only
// reads and never creates or alters a table.
package report
