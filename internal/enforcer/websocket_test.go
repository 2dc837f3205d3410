package enforcer

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestWebSocketMeteredWhileFlowing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.FlushInterval = time.Second })
	wsURL := "ws" + strings.TrimPrefix(e.front.URL, "http") + "/pod-a/notifications"
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial WebSocket through the enforcer: %v", err)
	}
	_ = resp.Body.Close()

	// 1 MiB in 1024 frames of 1 KiB over 60 s.
	const frames, frameSize = 1024, kib
	interval := 60 * time.Second / frames
	payload := bytes.Repeat([]byte("n"), frameSize)
	start := time.Now()
	checked := false
	for i := range frames {
		if err := conn.WriteMessage(websocket.BinaryMessage, payload); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !checked && time.Since(start) >= 30*time.Second {
			checked = true
			sent := int64(i+1) * frameSize
			// Wait out one flush interval, then the row must show what was sent before it.
			time.Sleep(1500 * time.Millisecond)
			if ingress := e.podUsage("pod-a").ingress; ingress < sent*9/10 {
				t.Errorf("at 30 s the usage row shows %d ingress bytes of %d sent", ingress, sent)
			}
		}
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * interval)))
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "pong" {
		t.Fatalf("read pong: %q, %v", msg, err)
	}
	_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	_ = conn.Close()

	eventually(t, 5*time.Second, "the upstream received every frame", func() bool {
		return e.upstream.WebSocketBytes() == frames*frameSize+4
	})
	time.Sleep(200 * time.Millisecond)
	e.flush()
	u := e.podUsage("pod-a")
	// Each client frame of 1 KiB carries a 2-byte header, a 2-byte length and a 4-byte mask.
	wantIngress := int64(frames*(frameSize+8) + (4 + 6) + (2 + 6))
	if u.ingress != wantIngress {
		t.Errorf("ingress after close = %d, want %d (frames with their headers)", u.ingress, wantIngress)
	}
	// The pong frame, and the upstream's 4-byte close frame when it is sent before the
	// connection goes.
	if u.egress != 6 && u.egress != 10 {
		t.Errorf("egress after close = %d, want 6 (the pong frame) or 10 (with the close reply)", u.egress)
	}
	e.checkNoPanic()
}
