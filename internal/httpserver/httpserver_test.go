package httpserver

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/restapi/apierr"
)

// serve starts New(handler) with a short read timeout on a local port.
func serve(t *testing.T, handler http.Handler, readTimeout time.Duration) string {
	t.Helper()
	srv := New(handler, Options{ReadTimeout: readTimeout, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// echo answers with the body it read, or the template error of reading it.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	var v any
	if err := apierr.DecodeJSON(r, &v); err != nil {
		apierr.WriteError(w, err)
		return
	}
	apierr.WriteJSON(w, http.StatusOK, v)
})

// waitGoroutines polls until ok(runtime.NumGoroutine()) holds.
func waitGoroutines(t *testing.T, within time.Duration, what string, ok func(n int) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n := runtime.NumGoroutine()
		if ok(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines after %s", what, n, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settledGoroutines waits until the goroutines of earlier tests (connections closing) are gone
// and returns the count.
func settledGoroutines() int {
	last := runtime.NumGoroutine()
	for range 100 {
		time.Sleep(50 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == last {
			return n
		}
		last = n
	}
	return last
}

// TestSlowBodiesAreCut: 200 connections that send their headers and then trickle nothing of
// the body they announced hold goroutines only until the read timeout; each is answered in
// the template (or dropped) and closed, and a well-behaved client is served meanwhile.
func TestSlowBodiesAreCut(t *testing.T) {
	const conns = 200
	const readTimeout = 3 * time.Second
	addr := serve(t, echo, readTimeout)
	baseline := settledGoroutines()

	var wg sync.WaitGroup
	closed := make(chan string, conns)
	for range conns {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = io.WriteString(c, "POST /x HTTP/1.1\r\nHost: dm\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":")
		require.NoError(t, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			answer, err := io.ReadAll(c) // returns once the server closes the connection
			if err != nil {
				closed <- "not closed by the server: " + err.Error()
				return
			}
			closed <- string(answer)
		}()
	}
	waitGoroutines(t, readTimeout, "the slow connections are being served", func(n int) bool { return n >= baseline+conns })

	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Post("http://"+addr+"/x", "application/json", strings.NewReader(`{"ok":true}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

	wg.Wait()
	close(closed)
	for answer := range closed {
		require.True(t, answer == "" || strings.Contains(answer, `"error_code":0`), "answer: %q", answer)
	}
	// Our readers are gone too; only the server's idle machinery may remain.
	waitGoroutines(t, 5*time.Second, "the slow connections are cut", func(n int) bool { return n <= baseline+5 })
}

// TestReadTimeoutLeavesLongHandlersAlone: the read timeout cuts slow requests, not handlers
// that take longer than it (the desired-state long-poll).
func TestReadTimeoutLeavesLongHandlersAlone(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * readTimeout):
			apierr.WriteJSON(w, http.StatusOK, map[string]string{"waited": "yes"})
		case <-r.Context().Done():
		}
	}), readTimeout)
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, err := http.NewRequest(method, "http://"+addr+"/poll", strings.NewReader(`{}`))
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.JSONEq(t, `{"waited":"yes"}`, string(body))
	}
}

// TestSlowHeadersAreCut: a client that never finishes its headers is disconnected.
func TestSlowHeadersAreCut(t *testing.T) {
	addr := serve(t, echo, 500*time.Millisecond)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /x HTTP/1.1\r\nHost: dm\r\n")
	require.NoError(t, err)
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = bufio.NewReader(c).ReadString('\n')
	require.Error(t, err, "the server closes the connection")
	require.Less(t, time.Since(start), 5*time.Second, fmt.Sprintf("cut after %s", time.Since(start)))
}
