package enforcer

import (
	"bytes"
	"net"
	"time"
)

func netDial(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

func sleep(ms int) { time.Sleep(time.Duration(ms) * time.Millisecond) }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
