package process

import (
	"fmt"
	"net"
)

// FreePort returns a TCP port free on 127.0.0.1 when asked: the node
// gives it to a task as $PORT. The kernel chooses it, from its ephemeral
// range, so until the task listens on it another program may take it; the
// task then fails to listen and is restarted with a new port.
func FreePort() (uint32, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return uint32(l.Addr().(*net.TCPAddr).Port), nil
}
