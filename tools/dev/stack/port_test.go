package stack

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 {
		t.Fatalf("port %d out of range", port)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d is not bindable: %v", port, err)
	}
	l.Close()
}

func TestCheckPortsFree(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	free := "127.0.0.1:" + strconv.Itoa(port)

	if err := CheckPortsFree(free); err != nil {
		t.Errorf("CheckPortsFree(%s) = %v, want nil", free, err)
	}
	err = CheckPortsFree(free, busy.Addr().String())
	if err == nil {
		t.Fatal("CheckPortsFree accepted a busy address")
	}
	if !strings.Contains(err.Error(), busy.Addr().String()) || strings.Contains(err.Error(), free) {
		t.Errorf("error %q should name exactly the busy address %s", err, busy.Addr())
	}
}
