package adminapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// allCodes are the error codes the handler sends.
var allCodes = []string{
	CodeUnauthorized, CodeTokenNotConfigured, CodeInvalidAccountID, CodeInvalidJSON, CodeUnknownField,
	CodeDuplicateField, CodeInvalidField, CodeInvalidQuery, CodeNotFound, CodeMethodNotAllowed,
	CodeManagedByAccountQuota, CodeBodyTooLarge, CodeUnsupportedMediaType, CodeInternal, CodeDatabaseUnavailable,
	CodeKubernetesUnavailable,
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	res := f.request(http.MethodGet, "/api/openapi.json", "")
	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", res.status, res.body)
	}
	if !bytes.Equal(res.body, OpenAPIDocument) {
		t.Error("served document differs from the embedded openapi.json")
	}
}

func TestOpenAPIDocumentMatchesHandler(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Enum []string `json:"enum"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	wantMethods := map[string][]string{
		routeList:    {"get"},
		routeAccount: {"delete", "get", "put"},
		routeOpenAPI: {"get"},
	}
	for path, want := range wantMethods {
		var got []string
		for method := range doc.Paths[path] {
			if method != "parameters" {
				got = append(got, method)
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("path %s documents methods %v, want %v", path, got, want)
		}
	}
	if len(doc.Paths) != len(wantMethods) {
		t.Errorf("document has %d paths, want %d", len(doc.Paths), len(wantMethods))
	}

	documented := slices.Sorted(slices.Values(doc.Components.Schemas.Error.Properties.Error.Enum))
	sent := slices.Sorted(slices.Values(allCodes))
	if !slices.Equal(documented, sent) {
		t.Errorf("documented error codes %v, want the codes the handler sends %v", documented, sent)
	}
}

func TestAdminAPIDocLinksOpenAPIDocument(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "admin-api.md"))
	if err != nil {
		t.Fatalf("read docs/admin-api.md: %v", err)
	}
	if !strings.Contains(string(doc), "(../internal/adminapi/openapi.json)") {
		t.Error("docs/admin-api.md does not link ../internal/adminapi/openapi.json")
	}
	for _, code := range allCodes {
		if !strings.Contains(string(doc), "`"+code+"`") {
			t.Errorf("docs/admin-api.md does not explain error code %s", code)
		}
	}
}
