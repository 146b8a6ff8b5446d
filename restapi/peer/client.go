package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/restapi/apierr"
)

// Client talks to any of a list of masters, moving to the next one when a master can't be
// reached. Which master answers doesn't matter: each forwards writes to the leader.
type Client struct {
	http    *http.Client
	scheme  string
	members *security.Members // names and signs every request; nil: anonymous plain HTTP

	mu    sync.Mutex
	addrs []string
	next  int
}

// NewClient builds a client for the given master addresses (host:port, or URLs as DM's
// `join` accepts) that authenticates as a member with m: its TLS configuration and signature.
// m nil makes anonymous plain HTTP calls (tests of an open cluster).
func NewClient(addrs []string, m *security.Members) (*Client, error) {
	var clean []string
	for _, a := range addrs {
		for _, part := range strings.Split(a, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if strings.Contains(part, "://") {
				u, err := url.Parse(part)
				if err != nil {
					return nil, fmt.Errorf("master address %q: %w", part, err)
				}
				part = u.Host
			}
			clean = append(clean, part)
		}
	}
	if len(clean) == 0 {
		return nil, errors.New("no master address given")
	}
	scheme := "http"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if m != nil && m.ClientTLS() != nil {
		scheme = "https"
		tr.TLSClientConfig = m.ClientTLS()
	}
	return &Client{http: &http.Client{Transport: tr}, scheme: scheme, members: m, addrs: clean}, nil
}

// Addrs returns the master addresses in use.
func (c *Client) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.addrs...)
}

// NewWorkerClient builds a client for calls the leader makes to workers, whose addresses
// come from the FSM one call at a time.
func NewWorkerClient(m *security.Members) *Client {
	c, _ := NewClient([]string{"unused:0"}, m)
	c.http.Timeout = 5 * time.Second
	return c
}

// WorkerStatus asks the worker at addr for its report.
func (c *Client) WorkerStatus(ctx context.Context, addr string) (WorkerStatus, error) {
	var st WorkerStatus
	err := c.once(ctx, http.MethodGet, c.scheme+"://"+addr+PathWorkerStatus, nil, &st)
	return st, err
}

// ReportLoad tells the cluster which worker holds a subtask's unfinished load.
func (c *Client) ReportLoad(ctx context.Context, req LoadWorkerRequest) error {
	return c.do(ctx, http.MethodPost, PathLoadWorker, req, nil)
}

// SubtaskSchema calls the worker at addr on a subtask's schema tracker: parts are the schema
// and table names after /schemas (zero, one or two of them), each escaped in the path.
func (c *Client) SubtaskSchema(ctx context.Context, addr, method, task string, parts []string, body, out any) error {
	path := PathSubtaskPrefix + url.PathEscape(task) + "/schemas"
	for _, p := range parts {
		path += "/" + url.PathEscape(p)
	}
	payload, err := jsonBody(path, body)
	if err != nil {
		return err
	}
	return c.once(ctx, method, c.scheme+"://"+addr+path, payload, out)
}

// jsonBody encodes a request body (nil: no body).
func jsonBody(path string, body any) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s body: %w", path, err)
	}
	return b, nil
}

// JoinMaster asks the cluster to record (and optionally add as voter) a master.
func (c *Client) JoinMaster(ctx context.Context, req JoinMasterRequest) (JoinMasterResponse, error) {
	var resp JoinMasterResponse
	err := c.do(ctx, http.MethodPost, PathJoinMaster, req, &resp)
	return resp, err
}

// RegisterWorker registers a worker through any master.
func (c *Client) RegisterWorker(ctx context.Context, req RegisterWorkerRequest) (RegisterWorkerResponse, error) {
	var resp RegisterWorkerResponse
	err := c.do(ctx, http.MethodPost, PathRegisterWorker, req, &resp)
	return resp, err
}

// WatchDesired blocks until the worker's desired state is newer than index or wait has passed,
// then returns the current state.
func (c *Client) WatchDesired(ctx context.Context, worker string, index uint64, wait time.Duration) (DesiredState, error) {
	var resp DesiredState
	q := url.Values{}
	q.Set("index", strconv.FormatUint(index, 10))
	q.Set("wait", wait.String())
	path := PathDesiredPrefix + url.PathEscape(worker) + "/desired?" + q.Encode()
	// A master that hangs (frozen, cut off) must not hold the feed, and with it the worker's
	// lease: each master gets the long-poll's wait and a little more.
	err := c.doEach(ctx, wait+desiredSlack, http.MethodGet, path, nil, &resp)
	return resp, err
}

// desiredSlack is what a desired-state answer may take beyond its long-poll's wait.
const desiredSlack = 2 * time.Second

// do sends one request, trying each master once starting from the last one that worked.
// An answer with the error template is returned as *apierr.Error without trying others:
// the cluster has spoken. Transport failures and 503s move on to the next master.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	return c.doEach(ctx, 0, method, path, body, out)
}

// doEach is do with a time limit on each master's answer (0: none but ctx's).
func (c *Client) doEach(ctx context.Context, perMaster time.Duration, method, path string, body, out any) error {
	payload, err := jsonBody(path, body)
	if err != nil {
		return err
	}
	c.mu.Lock()
	addrs, start := c.addrs, c.next
	c.mu.Unlock()

	var lastErr error
	for i := range addrs {
		idx := (start + i) % len(addrs)
		err := c.onceWithin(ctx, perMaster, method, c.scheme+"://"+addrs[idx]+path, payload, out)
		if err == nil {
			c.mu.Lock()
			c.next = idx
			c.mu.Unlock()
			return nil
		}
		var apiErr *apierr.Error
		if errors.As(err, &apiErr) && apiErr.Status != http.StatusServiceUnavailable {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		lastErr = err
	}
	return fmt.Errorf("no master answered %s %s: %w", method, path, lastErr)
}

// onceWithin is once with a time limit (0: none but ctx's).
func (c *Client) onceWithin(ctx context.Context, limit time.Duration, method, target string, payload []byte, out any) error {
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	return c.once(ctx, method, target, payload, out)
}

func (c *Client) once(ctx context.Context, method, target string, payload []byte, out any) error {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.members != nil {
		if err := c.members.Sign(req, payload); err != nil {
			return err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read body: %w", method, target, err)
	}
	if resp.StatusCode >= 300 {
		var tmpl struct {
			Msg  string   `json:"error_msg"`
			Code fsm.Code `json:"error_code"`
		}
		if json.Unmarshal(data, &tmpl) == nil && tmpl.Msg != "" {
			return &apierr.Error{Status: resp.StatusCode, Code: tmpl.Code, Msg: tmpl.Msg}
		}
		return &apierr.Error{Status: resp.StatusCode, Msg: fmt.Sprintf("%s %s: HTTP %d: %s", method, target, resp.StatusCode, bytes.TrimSpace(data))}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, target, err)
	}
	return nil
}

// ClusterKey fetches the cluster key from the masters.
func (c *Client) ClusterKey(ctx context.Context) ([]byte, error) {
	var resp ClusterKeyResponse
	if err := c.do(ctx, http.MethodGet, PathClusterKey, nil, &resp); err != nil {
		return nil, err
	}
	return resp.Key, nil
}
