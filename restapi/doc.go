// Package restapi owns dm-master's HTTP API, DM OpenAPI v1, served under /api/v1.
//
// It owns:
//   - openapi.yaml, the API document (spec first), and openapi.gen.go, the models and
//     chi routes generated from it (`go generate`, see oapi-codegen.yaml);
//   - request validation against the document (kin-openapi);
//   - the error body {"error_msg", "error_code"} under the names its handlers use (Error,
//     Errorf, WriteError): the type and its single writer are restapi/apierr's, shared with the
//     workers and restapi/peer, which must not link this package;
//   - ForwardToLeader, the project's one path for forwarding a request from a
//     follower master to the leader (a transparent reverse proxy);
//   - the documentation routes /api/v1/dm.json and /api/v1/docs (Swagger UI served
//     from assets embedded in the binary, so it works without internet);
//   - the Backend interface the master implements, and the handlers that call it.
//
// Handler builds the whole /api/v1 handler; the master mounts it at its root.
package restapi
