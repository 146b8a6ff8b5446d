package restapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// maxUnknownFieldsLogged bounds the unknown field names listed in one log line.
const maxUnknownFieldsLogged = 20

// requestValidator checks requests against the API document with kin-openapi.
type requestValidator struct {
	router routers.Router
	logger *slog.Logger
}

// newRequestValidator builds the validator. doc is modified: its servers are cleared so
// that requests are matched whatever host they were sent to.
func newRequestValidator(doc *openapi3.T, logger *slog.Logger) (*requestValidator, error) {
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("building the request router: %w", err)
	}
	return &requestValidator{router: router, logger: logger}, nil
}

// middleware rejects requests that do not match the document with 400 and code 0.
// Bodies may carry fields the document does not know: they are ignored, with a warning
// naming them (never their values).
func (v *requestValidator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, pathParams, err := v.findRoute(r)
		if err != nil {
			var routeErr *routers.RouteError
			if errors.As(err, &routeErr) && routeErr.Reason == routers.ErrMethodNotAllowed.Error() {
				WriteError(w, Errorf(http.StatusMethodNotAllowed, fsm.CodeRequestInvalid,
					"method %s is not allowed on %s", apierr.Clip(r.Method), apierr.Clip(r.URL.Path)))
				return
			}
			WriteError(w, Errorf(http.StatusNotFound, fsm.CodeRequestInvalid, "no API route matches %s %s", apierr.Clip(r.Method), apierr.Clip(r.URL.Path)))
			return
		}
		if err := strictJSONBody(r); err != nil {
			WriteError(w, err)
			return
		}
		input := &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: pathParams,
			Route:      route,
			Options: &openapi3filter.Options{
				// Like DM: defaults documented in the spec are applied by the handlers,
				// the body reaches them as the client sent it.
				SkipSettingDefaults: true,
				KeepValidatedValue:  true,
				AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
			},
		}
		if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
			WriteError(w, Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "%s", describeValidationError(err)))
			return
		}
		if validated, ok := r.Body.(interface{ ValidatedValue() any }); ok {
			if unknown := unknownFields(bodySchema(route), validated.ValidatedValue()); len(unknown) > 0 {
				v.logger.Warn("ignoring unknown fields in the request body",
					"method", r.Method, "path", apierr.Clip(r.URL.Path), "fields", unknown)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// strictJSONBody reads the request body whole (answering 413 past apierr.MaxBodyBytes) and,
// when it is JSON, insists on one value and nothing after it: the document's validator would
// check the first value and pass the rest unseen. The body is then given back to the request.
func strictJSONBody(r *http.Request) error {
	data, err := apierr.ReadBody(r)
	if err != nil || data == nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	if len(data) == 0 {
		return nil
	}
	if sentAsJSON(r.Header.Get("Content-Type")) {
		r.Header.Set("Content-Type", "application/json")
	}
	if mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mediaType != "application/json" {
		return nil // refused by the document, which knows no other type
	}
	var raw json.RawMessage
	if err := apierr.UnmarshalStrict(data, &raw); err != nil {
		return Errorf(http.StatusBadRequest, fsm.CodeRequestInvalid, "request body: %v", err)
	}
	return nil
}

// sentAsJSON reports whether a body with this Content-Type is read as JSON although the type
// does not say so: every body of this API is JSON, and clients often send one without a type
// or with curl's default for -d, application/x-www-form-urlencoded. Other types are checked
// against the document (and refused).
func sentAsJSON(contentType string) bool {
	if strings.TrimSpace(contentType) == "" {
		return true
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/x-www-form-urlencoded"
}

// findRoute matches the request on its escaped path, as chi does, so that a path parameter
// holding an escaped "/" (a table name, a shard-DDL lock id) is one segment; the parameters
// are returned unescaped.
func (v *requestValidator) findRoute(r *http.Request) (*routers.Route, map[string]string, error) {
	if r.URL.RawPath == "" {
		return v.router.FindRoute(r)
	}
	shadow := *r
	u := *r.URL
	u.Path, u.RawPath = r.URL.EscapedPath(), ""
	shadow.URL = &u
	route, params, err := v.router.FindRoute(&shadow)
	if err != nil {
		return nil, nil, err
	}
	for name, val := range params {
		if plain, uerr := url.PathUnescape(val); uerr == nil {
			params[name] = plain
		}
	}
	return route, params, nil
}

// describeValidationError turns a kin-openapi validation error into a message that names
// the offending parameter or body field. Values are not repeated (they may be secrets).
func describeValidationError(err error) string {
	var reqErr *openapi3filter.RequestError
	if !errors.As(err, &reqErr) {
		return "invalid request: " + err.Error()
	}
	var schemaErr *openapi3.SchemaError
	hasSchemaErr := errors.As(reqErr.Err, &schemaErr)
	switch {
	case reqErr.Parameter != nil:
		where := fmt.Sprintf("%s parameter %q", reqErr.Parameter.In, reqErr.Parameter.Name)
		switch {
		case errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired):
			return where + " is required"
		case hasSchemaErr:
			return describeSchemaError(where, schemaErr)
		case reqErr.Err != nil:
			return where + ": " + reqErr.Err.Error()
		default:
			return where + ": " + reqErr.Reason
		}
	case reqErr.RequestBody != nil:
		switch {
		case errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired):
			return "request body is required"
		case hasSchemaErr:
			return describeSchemaError("request body", schemaErr)
		case reqErr.Err != nil && reqErr.Reason != "":
			return "request body: " + reqErr.Reason + ": " + reqErr.Err.Error()
		case reqErr.Err != nil:
			return "request body: " + reqErr.Err.Error()
		default:
			return "request body: " + reqErr.Reason
		}
	}
	return "invalid request: " + reqErr.Error()
}

func describeSchemaError(where string, e *openapi3.SchemaError) string {
	reason := e.Reason
	if reason == "" {
		if e.Origin != nil {
			reason = e.Origin.Error()
		} else {
			reason = fmt.Sprintf("does not match the schema (%s)", e.SchemaField)
		}
	}
	ptr := e.JSONPointer()
	if len(ptr) == 0 {
		return where + ": " + reason
	}
	field := fieldPath(ptr)
	if e.SchemaField == "required" {
		return fmt.Sprintf("%s: required field %q is missing", where, field)
	}
	return fmt.Sprintf("%s: field %q: %s", where, field, reason)
}

// fieldPath renders a JSON pointer as task.table_migrate_rule[0].source.
func fieldPath(ptr []string) string {
	var b strings.Builder
	for _, p := range ptr {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// bodySchema returns the JSON schema of the route's request body, if any.
func bodySchema(route *routers.Route) *openapi3.Schema {
	if route == nil || route.Operation == nil || route.Operation.RequestBody == nil || route.Operation.RequestBody.Value == nil {
		return nil
	}
	mt := route.Operation.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

// unknownFields lists (sorted, capped) the object keys in value that schema does not declare.
func unknownFields(schema *openapi3.Schema, value any) []string {
	var out []string
	collectUnknownFields(schema, value, "", &out)
	slices.Sort(out)
	if len(out) > maxUnknownFieldsLogged {
		out = append(out[:maxUnknownFieldsLogged], "...")
	}
	return out
}

func collectUnknownFields(schema *openapi3.Schema, value any, path string, out *[]string) {
	if schema == nil {
		return
	}
	switch v := value.(type) {
	case map[string]any:
		additional := schema.AdditionalProperties.Schema
		for key, child := range v {
			childPath := key
			if path != "" {
				childPath = path + "." + key
			}
			if prop := schema.Properties[key]; prop != nil {
				collectUnknownFields(prop.Value, child, childPath, out)
				continue
			}
			if additional != nil {
				collectUnknownFields(additional.Value, child, childPath, out)
				continue
			}
			if len(schema.Properties) == 0 {
				continue // a free-form object
			}
			*out = append(*out, apierr.Clip(childPath))
		}
	case []any:
		if schema.Items == nil {
			return
		}
		for i, item := range v {
			collectUnknownFields(schema.Items.Value, item, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}
