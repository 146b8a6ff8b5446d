package restapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/getkin/kin-openapi/openapi3"
)

// specYAML is the API document, the source of openapi.gen.go.
//
//go:embed openapi.yaml
var specYAML []byte

// SpecYAML returns the API document as written (OpenAPI 3.0, YAML).
func SpecYAML() []byte { return append([]byte(nil), specYAML...) }

// loadSpec parses and validates the embedded API document. Every call returns a new
// document, so callers may change it.
func loadSpec(ctx context.Context) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(specYAML)
	if err != nil {
		return nil, fmt.Errorf("loading the OpenAPI document: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validating the OpenAPI document: %w", err)
	}
	return doc, nil
}

// specDocument is the API document as generic JSON, ready to be served with a
// per-request server URL.
type specDocument struct {
	fields map[string]any
}

func newSpecDocument(doc *openapi3.T) (*specDocument, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding the OpenAPI document as JSON: %w", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("decoding the OpenAPI document JSON: %w", err)
	}
	return &specDocument{fields: fields}, nil
}

// withServer returns the document whose only server is serverURL. The shared
// document is not modified.
func (d *specDocument) withServer(serverURL string) map[string]any {
	out := maps.Clone(d.fields)
	out["servers"] = []any{map[string]any{
		"url":         serverURL,
		"description": "the dm-master that served this document",
	}}
	return out
}
