// Package ldptest is a small in-memory Linked Data Platform server for tests of the enforcer. It
// stores bodies as they arrive and responds like a Solid pod server for the requests the enforcer
// meters: PUT (201 or 205), POST into a container (201 with Location), PATCH (N3 Patch and
// SPARQL Update INSERT DATA / DELETE DATA), DELETE, GET and HEAD with Content-Length, container
// listings in Turtle, and WebSocket upgrades.
//
// A request with the header X-Test-Status: 403 gets 403 before its body is read. With
// X-Test-Status: 500 the body is read in full and the response is 500. Neither stores anything.
package ldptest

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// Server is the test server. Resource keys are paths, or host and path with HostScoped.
type Server struct {
	*httptest.Server
	// HostScoped keys resources by lowercased host and path, for subdomain pods.
	HostScoped bool

	mu         sync.Mutex
	resources  map[string]resource
	containers map[string]bool
	requests   []Request
	wsReceived int64
	upgrader   websocket.Upgrader
}

type resource struct {
	body        []byte
	contentType string
}

// Request is one request as the server received it.
type Request struct {
	Method, Host, Path string
	Header             http.Header
	TransferEncoding   []string
	ContentLength      int64
	// BodyBytes is the number of body bytes read, and BodyComplete whether the body ended
	// cleanly.
	BodyBytes    int64
	BodyComplete bool
}

// Start starts a server that is closed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{resources: map[string]resource{}, containers: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Get returns the stored body of a resource.
func (s *Server) Get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.resources[key]
	return r.body, ok
}

// Put stores a resource directly, as a write that bypasses the enforcer would.
func (s *Server) Put(key string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store(key, body, "application/octet-stream")
}

// StoredBytes returns the sum of the sizes of all resources whose key starts with prefix.
// Containers have no size; auxiliary resources count.
func (s *Server) StoredBytes(prefix string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total int64
	for k, r := range s.resources {
		if strings.HasPrefix(k, prefix) {
			total += int64(len(r.body))
		}
	}
	return total
}

// Keys returns the sorted keys of stored resources under prefix.
func (s *Server) Keys(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.resources {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// WebSocketBytes returns the payload bytes received over WebSocket connections.
func (s *Server) WebSocketBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wsReceived
}

func (s *Server) key(r *http.Request, path string) string {
	if !s.HostScoped {
		return path
	}
	host := strings.ToLower(r.Host)
	if i := strings.LastIndex(host, ":"); i >= 0 {
		host = host[:i]
	}
	return strings.TrimSuffix(host, ".") + path
}

// store saves a resource and creates its parent containers. The caller holds s.mu.
func (s *Server) store(key string, body []byte, contentType string) bool {
	_, existed := s.resources[key]
	s.resources[key] = resource{body: body, contentType: contentType}
	s.addParents(key)
	return !existed
}

func (s *Server) addParents(key string) {
	for i := strings.LastIndex(strings.TrimSuffix(key, "/"), "/"); i >= 0; i = strings.LastIndex(key[:i], "/") {
		s.containers[key[:i+1]] = true
		if i == 0 {
			break
		}
	}
}
