//go:build unix

package enforcer

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// clientGone reports whether the client closed or reset its connection. It peeks at the socket
// without consuming data. A connection that does not expose its socket is never reported gone.
func clientGone(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	_ = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			closed = n == 0
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		default:
			closed = true
		}
		// Returning true stops RawConn.Read from waiting for the socket to become readable.
		return true
	})
	return closed
}
