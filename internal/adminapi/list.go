package adminapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"xpod.dev/quota-operator/internal/accountid"
)

// Page sizes of GET /api/quota.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// cursorPrefix versions the cursor format, so it can change without misreading old cursors.
const cursorPrefix = "v1:"

// list returns a page of quota rows in account id order. The cursor is opaque to clients: it
// encodes the last account id of the previous page.
func (a *api) list(ctx context.Context, r *http.Request) (any, *apiError) {
	query := r.URL.Query()
	limit, apiErr := parsePageSize(query.Get("limit"))
	if apiErr != nil {
		return nil, apiErr
	}
	after, apiErr := decodeCursor(query.Get("cursor"))
	if apiErr != nil {
		return nil, apiErr
	}

	// One extra row shows whether another page follows.
	records, err := a.store.list(ctx, after, limit+1)
	if err != nil {
		return nil, a.storeError(err, "")
	}
	response := ListResponse{Items: make([]QuotaResponse, 0, min(len(records), limit))}
	if len(records) > limit {
		records = records[:limit]
		next := encodeCursor(records[limit-1].accountID)
		response.NextCursor = &next
	}
	for _, record := range records {
		owner, apiErr := a.lookupOwner(ctx, record.accountID)
		if apiErr != nil {
			return nil, apiErr
		}
		response.Items = append(response.Items, a.newQuotaResponse(record, owner))
	}
	return response, nil
}

func parsePageSize(text string) (int, *apiError) {
	if text == "" {
		return DefaultPageSize, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > MaxPageSize {
		return 0, newError(http.StatusBadRequest, CodeInvalidQuery,
			"limit %q is invalid; use a whole number from 1 to %d (default %d)", truncate(text, 32), MaxPageSize,
			DefaultPageSize)
	}
	return n, nil
}

func encodeCursor(lastAccountID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + lastAccountID))
}

// decodeCursor returns the account id after which the page starts, or nil for the first page.
func decodeCursor(cursor string) (*string, *apiError) {
	if cursor == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	id, versioned := strings.CutPrefix(string(raw), cursorPrefix)
	if err != nil || !versioned || accountid.Validate(id) != nil {
		return nil, newError(http.StatusBadRequest, CodeInvalidQuery,
			"cursor is invalid; pass the nextCursor of the previous page unchanged, or leave cursor out to start "+
				"from the first page")
	}
	return &id, nil
}
