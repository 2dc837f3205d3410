//go:build !unix

package enforcer

import "net"

// clientGone never reports a client gone where sockets cannot be peeked at.
func clientGone(net.Conn) bool { return false }
