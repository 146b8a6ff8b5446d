package restapi

// openapi.gen.go is generated from openapi.yaml; commit the result.
//go:generate go tool oapi-codegen -config oapi-codegen.yaml openapi.yaml
