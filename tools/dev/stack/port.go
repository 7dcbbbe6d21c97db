package stack

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may still take it before the caller binds it, so callers
// retry with a new port when binding fails.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// CheckPortsFree fails, naming every busy address, when one of addrs
// cannot be bound: better one clear message before starting anything than
// a service dying with "address already in use" in its log.
func CheckPortsFree(addrs ...string) error {
	var busy []string
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			busy = append(busy, a)
			continue
		}
		l.Close()
	}
	if len(busy) > 0 {
		return errors.New("address already in use: " + strings.Join(busy, ", ") +
			" (is another `make run` or a local service running? stop it first)")
	}
	return nil
}
