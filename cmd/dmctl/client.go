package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dm-oss/dm/internal/security"
)

// dialTimeout bounds connecting to one master, so that a dead address in --master-addr costs
// seconds, not the whole --rpc-timeout (DM's dmctl waits 3 s too).
const dialTimeout = 3 * time.Second

// client speaks the OpenAPI of the masters in --master-addr. Any master serves any call (a
// follower forwards to the leader), so it tries the addresses in turn until one answers, and
// keeps asking the one that did.
type client struct {
	addrs   []string
	scheme  string // of addresses given without one: https with the TLS flags
	http    *http.Client
	token   string
	current int // index in addrs of the master that answered last
}

// connOptions are the global flags a client is built from.
type connOptions struct {
	addrs                  []string
	timeout                time.Duration
	token                  string
	sslCA, sslCert, sslKey string
}

// newClient builds the client of one run; the TLS flags give dmctl's certificate, which
// masters with ssl-* require (its CN must be in their cert-allowed-cn).
func newClient(o connOptions) (*client, error) {
	conf, err := security.ClientTLS(o.sslCA, o.sslCert, o.sslKey)
	if err != nil {
		return nil, fmt.Errorf("TLS flags: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout}).DialContext
	scheme := "http"
	if conf != nil {
		tr.TLSClientConfig = conf
		scheme = "https"
	}
	return &client{addrs: o.addrs, scheme: scheme, http: &http.Client{Timeout: o.timeout, Transport: tr}, token: o.token}, nil
}

// request is one API call: the path under the master, its query, a body to send as JSON and
// where to decode the answer (both optional).
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	out    any
}

// do sends the request to the first master that answers. It goes on to the next address when
// one cannot be reached (or, for a read, fails on the way) or has no leader to forward to
// (503); it never resends a write that a master may have received.
func (c *client) do(ctx context.Context, r request) (http.Header, error) {
	var payload []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		payload = b
	}
	var tried []string
	var lastAPIErr error
	for i := range c.addrs {
		at := (c.current + i) % len(c.addrs)
		hdr, answered, err := c.send(ctx, c.addrs[at], r, payload)
		var ae *apiError
		switch {
		case err == nil:
			c.current = at
			return hdr, nil
		case answered && errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable:
			lastAPIErr = err
		case answered:
			c.current = at
			return hdr, err
		case ctx.Err() != nil || !retryable(r.method, err):
			return nil, fmt.Errorf("%s: %w", c.addrs[at], err)
		}
		tried = append(tried, fmt.Sprintf("%s: %v", c.addrs[at], err))
	}
	if lastAPIErr != nil {
		return nil, lastAPIErr
	}
	return nil, &unreachableError{tried: tried}
}

// retryable says whether a transport error lets another master be tried: always when the
// connection was never made, and for reads whatever happened.
func retryable(method string, err error) bool {
	if method == http.MethodGet {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// send makes one attempt at one address and says whether the master answered. A template
// answer (any status >= 300) comes back as an *apiError; a transport failure as the error of
// the HTTP client.
func (c *client) send(ctx context.Context, addr string, r request, payload []byte) (hdr http.Header, answered bool, err error) {
	base := addr
	if !strings.Contains(base, "://") {
		base = c.scheme + "://" + base
	}
	u := strings.TrimSuffix(base, "/") + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, false, fmt.Errorf("build request: %w", err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The method and URL the client adds are ours; what went wrong is inside.
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, false, ue.Err
		}
		return nil, false, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.Header, true, fmt.Errorf("read the answer of %s: %w", addr, err)
	}
	if resp.StatusCode >= 300 {
		return resp.Header, true, templateError(resp.StatusCode, data)
	}
	if r.out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, r.out); err != nil {
			return resp.Header, true, fmt.Errorf("decode the answer of %s %s from %s: %w", r.method, r.path, addr, err)
		}
	}
	return resp.Header, true, nil
}

// templateError reads DM's error template; a body that is not one (a proxy's page, say) is
// quoted, clipped.
func templateError(status int, body []byte) *apiError {
	var t struct {
		Msg  *string `json:"error_msg"`
		Code int     `json:"error_code"`
	}
	if err := json.Unmarshal(body, &t); err == nil && t.Msg != nil {
		return &apiError{Status: status, Code: t.Code, Msg: *t.Msg}
	}
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	if text == "" {
		text = http.StatusText(status)
	}
	return &apiError{Status: status, Msg: fmt.Sprintf("the master answered HTTP %d without DM's error template: %s", status, text)}
}

// get, post and del are the calls verbs make.
func (c *client) get(ctx context.Context, path string, query url.Values, out any) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: path, query: query, out: out})
	return err
}

func (c *client) post(ctx context.Context, path string, body, out any) error {
	_, err := c.do(ctx, request{method: http.MethodPost, path: path, body: body, out: out})
	return err
}

func (c *client) put(ctx context.Context, path string, body any) error {
	_, err := c.do(ctx, request{method: http.MethodPut, path: path, body: body})
	return err
}

func (c *client) del(ctx context.Context, path string, query url.Values) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: path, query: query})
	return err
}

// pathOf joins escaped path segments under /api/v1.
func pathOf(segments ...string) string {
	var b strings.Builder
	b.WriteString("/api/v1")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// sourceQuery is the source_name_list query of a call restricted to some sources.
func sourceQuery(sources []string) url.Values {
	if len(sources) == 0 {
		return nil
	}
	return url.Values{"source_name_list": sources}
}
