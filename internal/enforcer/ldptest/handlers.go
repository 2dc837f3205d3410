package ldptest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if websocketUpgrade(r) {
		s.record(r, 0, true)
		s.serveWebSocket(w, r)
		return
	}
	switch r.Header.Get("X-Test-Status") {
	case "403":
		s.record(r, 0, false)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	case "500":
		n, _ := io.Copy(io.Discard, r.Body)
		s.record(r, n, true)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}

	body, err := io.ReadAll(r.Body)
	s.record(r, int64(len(body)), err == nil)
	if err != nil {
		http.Error(w, "incomplete body", http.StatusBadRequest)
		return
	}
	key := s.key(r, r.URL.Path)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.serveGet(w, r, key)
	case http.MethodPut:
		s.servePut(w, r, key, body)
	case http.MethodPost:
		s.servePost(w, r, key, body)
	case http.MethodPatch:
		s.servePatch(w, r, key, body)
	case http.MethodDelete:
		s.serveDelete(w, key)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Server) record(r *http.Request, n int64, complete bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, Header: r.Header.Clone(),
		TransferEncoding: r.TransferEncoding, ContentLength: r.ContentLength, BodyBytes: n, BodyComplete: complete})
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, key string) {
	s.mu.Lock()
	res, ok := s.resources[key]
	listing, isContainer := s.listing(key)
	s.mu.Unlock()
	switch {
	case ok:
		w.Header().Set("Content-Type", res.contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(res.body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(res.body)
		}
	case isContainer:
		w.Header().Set("Content-Type", "text/turtle")
		w.Header().Set("Content-Length", strconv.Itoa(len(listing)))
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, listing)
		}
	default:
		http.NotFound(w, r)
	}
}

// listing returns the Turtle description of a container with ldp:contains for each child,
// auxiliary resources excluded as Community Solid Server does. The caller holds s.mu.
func (s *Server) listing(key string) (string, bool) {
	if !strings.HasSuffix(key, "/") || (!s.containers[key] && key != "/") {
		return "", false
	}
	var children []string
	add := func(child string) {
		rest := strings.TrimPrefix(child, key)
		if child == key || !strings.HasPrefix(child, key) || strings.Contains(strings.TrimSuffix(rest, "/"), "/") {
			return
		}
		if strings.HasSuffix(rest, ".acl") || strings.HasSuffix(rest, ".meta") {
			return
		}
		children = append(children, "<"+rest+">")
	}
	for k := range s.resources {
		add(k)
	}
	for k := range s.containers {
		add(k)
	}
	var b strings.Builder
	b.WriteString("@prefix ldp: <http://www.w3.org/ns/ldp#>.\n<> a ldp:Container, ldp:BasicContainer")
	if len(children) > 0 {
		b.WriteString(";\n  ldp:contains " + strings.Join(children, ", "))
	}
	b.WriteString(".\n")
	return b.String(), true
}

func (s *Server) servePut(w http.ResponseWriter, r *http.Request, key string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasSuffix(key, "/") {
		created := !s.containers[key]
		s.containers[key] = true
		s.addParents(key)
		writeCreated(w, created)
		return
	}
	if s.containers[key+"/"] {
		http.Error(w, "a container has this name", http.StatusConflict)
		return
	}
	writeCreated(w, s.store(key, body, r.Header.Get("Content-Type")))
}

func writeCreated(w http.ResponseWriter, created bool) {
	if created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusResetContent)
}

func (s *Server) servePost(w http.ResponseWriter, r *http.Request, key string, body []byte) {
	if !strings.HasSuffix(r.URL.Path, "/") {
		http.Error(w, "POST needs a container", http.StatusMethodNotAllowed)
		return
	}
	name := r.Header.Get("Slug")
	if name == "" || strings.Contains(name, "/") {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		name = hex.EncodeToString(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.resources[key+name]; exists {
		name += "-" + strconv.Itoa(len(s.resources))
	}
	s.store(key+name, body, r.Header.Get("Content-Type"))
	w.Header().Set("Location", "http://"+r.Host+r.URL.Path+name)
	w.WriteHeader(http.StatusCreated)
}

var (
	insertPattern = regexp.MustCompile(`(?s)(?:INSERT DATA|solid:inserts)\s*\{(.*?)\}`)
	deletePattern = regexp.MustCompile(`(?s)(?:DELETE DATA|solid:deletes)\s*\{(.*?)\}`)
)

// servePatch applies a patch by text: the deleted triples are removed from the body, then the
// inserted ones are appended, each followed by a newline.
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, key string, body []byte) {
	ct := r.Header.Get("Content-Type")
	if ct != "text/n3" && ct != "application/sparql-update" {
		http.Error(w, "unsupported patch type", http.StatusUnsupportedMediaType)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, existed := s.resources[key]
	doc := string(old.body)
	if m := deletePattern.FindStringSubmatch(string(body)); m != nil {
		triple := strings.TrimSpace(m[1]) + "\n"
		if !strings.Contains(doc, triple) {
			http.Error(w, "the triples to delete are not in the resource", http.StatusConflict)
			return
		}
		doc = strings.Replace(doc, triple, "", 1)
	}
	if m := insertPattern.FindStringSubmatch(string(body)); m != nil {
		doc += strings.TrimSpace(m[1]) + "\n"
	}
	s.store(key, []byte(doc), "text/turtle")
	writeCreated(w, !existed)
}

func (s *Server) serveDelete(w http.ResponseWriter, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasSuffix(key, "/") {
		s.deleteContainer(w, key)
		return
	}
	if _, ok := s.resources[key]; !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	delete(s.resources, key)
	delete(s.resources, key+".acl")
	delete(s.resources, key+".meta")
	w.WriteHeader(http.StatusResetContent)
}

func (s *Server) deleteContainer(w http.ResponseWriter, key string) {
	if !s.containers[key] {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if listing, _ := s.listing(key); strings.Contains(listing, "ldp:contains") {
		http.Error(w, fmt.Sprintf("container %s is not empty", key), http.StatusConflict)
		return
	}
	for k := range s.resources {
		if strings.HasPrefix(k, key) {
			delete(s.resources, k)
		}
	}
	delete(s.containers, key)
	w.WriteHeader(http.StatusResetContent)
}
