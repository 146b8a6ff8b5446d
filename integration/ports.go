package integration

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may still grab it before the caller binds it, so servers
// started on it must cope with "address in use" (StartMariaDB retries).
func FreePort(t testing.TB) int {
	t.Helper()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatalf("integration: %v", err)
	}
	return ports[0]
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, err := freePorts(n)
	if err != nil {
		t.Fatalf("integration: %v", err)
	}
	return ports
}

// Server ports are picked below the kernel's ephemeral range (32768 and up on Linux): a port
// from that range, freed while a server restarts, can be taken by any outgoing connection in
// the meantime, and the server could not come back on it.
const (
	serverPortLow  = 12000
	serverPortHigh = 32000
)

// freePorts keeps every listener open until all n are chosen: closing each
// one straight away would let the kernel hand the same port out twice.
func freePorts(n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for len(ports) < n {
		l, err := listenFree()
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// listenFree listens on a random port of the server range, falling back to an OS-chosen one.
func listenFree() (net.Listener, error) {
	for range 200 {
		port := serverPortLow + rand.IntN(serverPortHigh-serverPortLow)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			return l, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("reserve a free port on 127.0.0.1: %w", err)
	}
	return l, nil
}
