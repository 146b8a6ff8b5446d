package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// EnvelopeVersion is the version of the log entry format that Encode writes. Apply also accepts
// version 1, whose AddSource and AddTask carried opaque configs instead of specs (legacy.go).
const EnvelopeVersion = 2

// envelope keeps the body opaque until the type is known, so each command decodes into its own
// struct and unknown fields can be refused.
type envelope struct {
	V int             `json:"v"`
	T CommandType     `json:"t"`
	B json.RawMessage `json:"b"`
}

// Encode wraps a command in the versioned envelope {"v":1,"t":<type>,"b":<body>}.
func Encode(c Command) ([]byte, error) {
	if c == nil {
		return nil, errors.New("fsm: encode: nil command")
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("fsm: encode command body: %w", err)
	}
	// A typed nil pointer marshals to null; asking it for its type would dereference it.
	if bytes.Equal(body, []byte("null")) {
		return nil, errors.New("fsm: encode: nil command")
	}
	t := c.CommandType()
	if _, ok := newCommand(t); !ok {
		return nil, fmt.Errorf("fsm: encode: unknown command type %s", t)
	}
	data, err := json.Marshal(envelope{V: EnvelopeVersion, T: t, B: body})
	if err != nil {
		return nil, fmt.Errorf("fsm: encode %s envelope: %w", t, err)
	}
	return data, nil
}

// Decode returns the typed command (a pointer to its struct) held in a log entry. It is strict:
// unknown fields or trailing data are errors, because a replica that ignored a field another
// replica understood would diverge from it.
func Decode(data []byte) (Command, error) {
	var env envelope
	if err := unmarshalStrict(data, &env); err != nil {
		return nil, fmt.Errorf("fsm: decode envelope: %w", err)
	}
	if env.V != EnvelopeVersion && env.V != legacyVersion {
		return nil, fmt.Errorf("fsm: unsupported envelope version %d (this build reads %d and %d)", env.V, legacyVersion, EnvelopeVersion)
	}
	c, ok := newCommand(env.T)
	if !ok {
		return nil, fmt.Errorf("fsm: unknown command type %d", uint16(env.T))
	}
	if len(env.B) == 0 || bytes.Equal(env.B, []byte("null")) {
		return nil, fmt.Errorf("fsm: %s entry has no body", env.T)
	}
	var err error
	if env.V == legacyVersion {
		err = decodeLegacyBody(env.B, c)
	} else {
		err = unmarshalStrict(env.B, c)
	}
	if err != nil {
		return nil, fmt.Errorf("fsm: decode %s body: %w", env.T, err)
	}
	return c, nil
}

func unmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
