package enforcer

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// watchInterval is how often a streamed response that waits for the pod server checks whether
// its client is still connected.
const watchInterval = 2 * time.Second

// upstreamConns are the open connections to the pod server by local address, so that a
// response's blocked read can be interrupted when its client leaves.
var upstreamConns sync.Map

// trackedConn is a connection to the pod server that is listed in upstreamConns while open.
type trackedConn struct {
	net.Conn
	key  string
	once sync.Once
}

func trackUpstream(c net.Conn) net.Conn {
	t := &trackedConn{Conn: c, key: c.LocalAddr().String()}
	upstreamConns.Store(t.key, t)
	return t
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { upstreamConns.CompareAndDelete(c.key, c) })
	return c.Conn.Close()
}

// interruptUpstream ends the blocked read on the pod server connection with the local address.
func interruptUpstream(local net.Addr) {
	if local == nil {
		return
	}
	if c, ok := upstreamConns.Load(local.String()); ok {
		_ = c.(*trackedConn).SetReadDeadline(time.Now())
	}
}

// clientWatch checks, while a streamed response waits for the pod server, whether the client
// is still connected, and interrupts the wait when it is not. Without it a silent stream, such
// as a long poll, would hold its pod server connection after the client left.
type clientWatch struct {
	client net.Conn
	local  net.Addr

	mu      sync.Mutex
	waiting bool
	timer   *time.Timer
}

// start marks the beginning of a read from the pod server.
func (w *clientWatch) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waiting = true
	if w.timer == nil {
		w.timer = time.AfterFunc(watchInterval, w.check)
	} else {
		w.timer.Reset(watchInterval)
	}
}

// stop marks the end of the read, after which check does nothing.
func (w *clientWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waiting = false
	w.timer.Stop()
}

func (w *clientWatch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.waiting {
		return
	}
	if clientGone(socketOf(w.client)) {
		interruptUpstream(w.local)
		return
	}
	w.timer.Reset(watchInterval)
}

// clientSockets are the sockets of open client connections by remote address, for connections
// whose wrapper hides the socket.
var clientSockets sync.Map

// socketListener records the socket of each accepted connection in clientSockets.
type socketListener struct{ net.Listener }

func (l socketListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		clientSockets.Store(c.RemoteAddr().String(), c)
	}
	return c, err
}

// forgetClosedSocket removes a connection's socket from clientSockets once the HTTP server is done
// with the connection.
func forgetClosedSocket(c net.Conn, state fasthttp.ConnState) {
	if state == fasthttp.StateClosed || state == fasthttp.StateHijacked {
		clientSockets.Delete(c.RemoteAddr().String())
	}
}

// socketOf returns the connection itself when it exposes its socket, else the recorded socket.
func socketOf(c net.Conn) net.Conn {
	if _, ok := c.(syscall.Conn); ok {
		return c
	}
	if socket, ok := clientSockets.Load(c.RemoteAddr().String()); ok {
		return socket.(net.Conn)
	}
	return c
}
