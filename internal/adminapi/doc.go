// Package adminapi serves the Quota Admin API: an authenticated JSON API over HTTP(S) that reads,
// sets and resets the per-account limits in identity_account_quota and shows the account's usage
// from identity_account_usage.
//
// Routes, all behind an admin bearer token (see TokenFile):
//
//	GET    /api/quota                  custom quotas, a page at a time
//	GET    /api/quota/{accountId}      effective limits, their source, the managing AccountQuota, usage
//	PUT    /api/quota/{accountId}      set limits (null resets one to the default, an absent one is kept)
//	DELETE /api/quota/{accountId}      remove the row, so both defaults apply
//	GET    /api/openapi.json           the OpenAPI 3 document of these routes
//
// An account that an AccountQuota names belongs to that AccountQuota: PUT and DELETE return 409
// and leave the row alone. docs/admin-api.md describes the API for its users.
package adminapi
