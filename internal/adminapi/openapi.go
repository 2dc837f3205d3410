package adminapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

// OpenAPIDocument is the OpenAPI 3 document of the API, served at /api/openapi.json. It is the
// one copy: docs/admin-api.md links to this file.
//
//go:embed openapi.json
var OpenAPIDocument []byte

func writeOpenAPI(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(OpenAPIDocument)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(OpenAPIDocument)
}
