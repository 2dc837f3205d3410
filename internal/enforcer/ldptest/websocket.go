package ldptest

import (
	"net/http"
	"strings"
)

func websocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// serveWebSocket counts the payload bytes of the messages a client sends and replies "pong" to
// a message "ping".
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	for {
		kind, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.wsReceived += int64(len(msg))
		s.mu.Unlock()
		if string(msg) == "ping" {
			if err := conn.WriteMessage(kind, []byte("pong")); err != nil {
				return
			}
		}
	}
}
