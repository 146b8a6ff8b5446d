package security

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Headers of an internal request.
const (
	// HeaderMember carries the name of the calling member; it is covered by the signature.
	HeaderMember = "X-Dm-Member"
	// HeaderSignature carries "v1:<unix ms>:<nonce>:<HMAC-SHA256, base64url>" in secret-key mode.
	HeaderSignature = "X-Dm-Signature"
)

const (
	// signatureWindow is how far a signature's time may be from the receiver's clock. Members'
	// clocks must agree within it; a captured request can be replayed to no master after it.
	signatureWindow = 2 * time.Minute
	// maxSignedBody bounds the body read to check a signature.
	maxSignedBody = 8 << 20
	// maxNonces bounds the nonces remembered against replay (only those of valid signatures).
	maxNonces = 1 << 20
)

var (
	// ErrUnauthenticated says a request did not prove that it comes from a member.
	ErrUnauthenticated = errors.New("not authenticated as a member of this cluster")
	// ErrForbidden says an authenticated member asked for what only another member may do.
	ErrForbidden = errors.New("not allowed for this member")
	// ErrBodyTooLarge says a signed request's body is over the limit (this one, or the
	// server's http.MaxBytesReader).
	ErrBodyTooLarge = errors.New("request body too large")
	// ErrBodyUnreadable says a signed request's body broke off (or came too slowly).
	ErrBodyUnreadable = errors.New("request body could not be read")
)

func unauthenticated(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnauthenticated, fmt.Sprintf(format, args...))
}

// Sign names this member on req and, in secret-key mode, signs it: method, path and query, the
// member's name, the time, a fresh nonce and the SHA-256 of body (the bytes req sends).
func (m *Members) Sign(req *http.Request, body []byte) error {
	req.Header.Set(HeaderMember, m.name)
	if m.httpKey == nil {
		return nil
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	ts := strconv.FormatInt(m.now().UnixMilli(), 10)
	n := hex.EncodeToString(nonce)
	sig := m.mac(req.Method, requestTarget(req), m.name, ts, n, body)
	req.Header.Set(HeaderSignature, "v1:"+ts+":"+n+":"+base64.RawURLEncoding.EncodeToString(sig))
	return nil
}

// requestTarget is the signed form of the request's path and query.
func requestTarget(r *http.Request) string {
	t := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		t += "?" + r.URL.RawQuery
	}
	return t
}

func (m *Members) mac(method, target, member, ts, nonce string, body []byte) []byte {
	sum := sha256.Sum256(body)
	h := hmac.New(sha256.New, m.httpKey)
	for _, part := range []string{"dm-member-request-v1", method, target, member, ts, nonce, hex.EncodeToString(sum[:])} {
		h.Write([]byte(part))
		h.Write([]byte{'\n'})
	}
	return h.Sum(nil)
}

// Authenticate checks that r comes from a member: a verified certificate in TLS mode, a valid
// and fresh signature not seen before in secret-key mode (both when both are configured). It
// reads and restores r.Body to check the signature. In open mode every request passes, under
// the name it gives. Errors wrap ErrUnauthenticated, ErrBodyTooLarge or ErrBodyUnreadable.
func (m *Members) Authenticate(r *http.Request) (Identity, error) {
	id := Identity{Name: r.Header.Get(HeaderMember)}
	if m.serverTLS != nil {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
			return id, unauthenticated("a client certificate signed by the cluster's CA is required")
		}
		id.CN = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	if m.httpKey != nil {
		if err := m.verify(r, id.Name); err != nil {
			return id, err
		}
		id.Signed = true
	}
	return id, nil
}

func (m *Members) verify(r *http.Request, member string) error {
	h := r.Header.Get(HeaderSignature)
	if h == "" {
		return unauthenticated("the request carries no member signature (%s)", HeaderSignature)
	}
	parts := strings.Split(h, ":")
	if len(parts) != 4 || parts[0] != "v1" || member == "" {
		return unauthenticated("malformed member signature")
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return unauthenticated("malformed member signature time")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return unauthenticated("malformed member signature")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if !hmac.Equal(sig, m.mac(r.Method, requestTarget(r), member, parts[1], parts[2], body)) {
		return unauthenticated("the member signature does not match (another secret key?)")
	}
	now, at := m.now(), time.UnixMilli(ms)
	if skew := now.Sub(at); skew > signatureWindow || skew < -signatureWindow {
		return unauthenticated("the member signature is %s away from this clock (over %s): a replay, or clocks out of step", skew.Round(time.Second), signatureWindow)
	}
	if !m.replay.add(parts[2], at.Add(signatureWindow), now) {
		return unauthenticated("the member signature was used before (a replay)")
	}
	return nil
}

// readBody reads r.Body whole (bounded) and puts the bytes back for the handler.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxSignedBody+1))
	r.Body.Close()
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, fmt.Errorf("%w: %w", ErrBodyTooLarge, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBodyUnreadable, err)
	}
	if len(b) > maxSignedBody {
		return nil, fmt.Errorf("%w: over %d bytes", ErrBodyTooLarge, maxSignedBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

// nonceCache remembers the nonces of valid signatures until they expire.
type nonceCache struct {
	mu        sync.Mutex
	seen      map[string]time.Time // nonce → when its signature expires
	max       int
	nextPrune time.Time
}

func newNonceCache(max int) *nonceCache { return &nonceCache{seen: map[string]time.Time{}, max: max} }

// add records nonce until expires; false when it is already known, or when the cache is full
// of live nonces (refusing is safer than forgetting one). Expired nonces are dropped every
// minute, so the cache holds about two windows' worth of requests.
func (c *nonceCache) add(nonce string, expires, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[nonce]; ok {
		return false
	}
	if now.After(c.nextPrune) || len(c.seen) >= c.max {
		for n, exp := range c.seen {
			if now.After(exp) {
				delete(c.seen, n)
			}
		}
		c.nextPrune = now.Add(time.Minute)
	}
	if len(c.seen) >= c.max {
		return false
	}
	c.seen[nonce] = expires
	return true
}
