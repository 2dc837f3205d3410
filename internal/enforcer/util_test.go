package enforcer

import (
	"net"
	"time"
)

func netDial(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

func sleep(ms int) { time.Sleep(time.Duration(ms) * time.Millisecond) }
