package apierr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/dm-oss/dm/fsm"
)

// MaxBodyBytes bounds every request body on every port: 4 MiB, gRPC's default message size,
// which bounds DM's own requests. The largest legitimate bodies (a task with many rules, a
// source with its TLS material, a CREATE TABLE) are far smaller.
const MaxBodyBytes = 4 << 20

// LimitBody refuses a body declared larger than MaxBodyBytes at once (413 with the template)
// and cuts any other at MaxBodyBytes: reading past it fails with *http.MaxBytesError, which
// ReadBody and DecodeJSON answer with 413 too.
func LimitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			WriteError(w, tooLarge())
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

func tooLarge() *Error {
	return Errorf(http.StatusRequestEntityTooLarge, fsm.CodeRequestInvalid,
		"request body larger than %d bytes", MaxBodyBytes)
}

// BodyError is the answer to a failure reading a request body: 413 when the body went past
// MaxBodyBytes, 400 otherwise (the client sent less than it announced, a broken chunk, a body
// too slow for the server's read timeout).
func BodyError(err error) *Error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tooLarge()
	}
	return Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "reading the request body: %w", err)
}

// ReadBody reads the whole request body (nil when there is none); a failure is a BodyError.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, BodyError(err)
	}
	return data, nil
}

// DecodeJSON reads the request body as exactly one JSON value into v: a missing body, a
// malformed one, or anything after the value (a second object, trailing text) is a 400, a body
// past MaxBodyBytes a 413.
func DecodeJSON(r *http.Request, v any) error {
	data, err := ReadBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "a JSON request body is required")
	}
	if err := UnmarshalStrict(data, v); err != nil {
		return Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "request body: %v", err)
	}
	return nil
}

// UnmarshalStrict decodes data, which must hold one JSON value and nothing after it but
// white space, into v (a json.RawMessage only checks it).
func UnmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("unexpected data after the JSON value, at byte %d (one JSON value per request)", end)
	}
	return nil
}
