package restapi

import (
	"net/http"
	"testing"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

const minimalTaskJSON = `{"name":"t1","task_mode":"all","on_duplicate":"error",
	"target_config":{"host":"db","port":3306,"user":"u","password":"p"},
	"table_migrate_rule":[{"source":{"source_name":"s1","schema":"a","table":"*"}}],
	"source_config":{"source_conf":[{"source_name":"s1"}]}}`

func TestGetAndUpdateSourceRoutes(t *testing.T) {
	b := selfLeader("m1")
	srv, _ := newTestServer(t, b, "m1")
	url := srv.URL + "/api/v1/sources/s1"

	resp := do(t, srv.Client(), "GET", url, "", nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	require.JSONEq(t, `{"source_name":"s1","host":"db","port":3306,"user":"dm","password":"******"}`, string(resp.body))
	resp = do(t, srv.Client(), "GET", url+"?with_status=true", "", nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)

	resp = do(t, srv.Client(), "PUT", url, `{"source":{"source_name":"s1","host":"replica","port":3307,"user":"dm","password":"******"}}`, nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	require.Contains(t, string(resp.body), `"host":"replica"`)
	require.Equal(t, []string{"get source s1 false", "get source s1 true", "update source s1 replica:3307 ******"}, b.calls())

	// Bodies that do not match the document never reach the backend.
	for _, body := range []string{
		``, `{}`, `{"source_name":"s1"}`, `{"source":{"source_name":"s1","host":"h"}}`,
		`{"source":{"source_name":"s1","host":"h","port":"x","user":"u","password":"p"}}`, `not json`,
	} {
		resp = do(t, srv.Client(), "PUT", url, body, nil)
		requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
	}
	require.Len(t, b.calls(), 3)

	// The backend's errors keep their status and code: DM's 404 of the newer GET, 400s.
	b.update(func(f *fakeBackend) {
		f.inplaceErr = Errorf(http.StatusNotFound, fsm.CodeSourceNotExist, `source "nope" does not exist`)
	})
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/sources/nope", "", nil)
	require.Contains(t, requireErrorBody(t, resp, http.StatusNotFound, fsm.CodeSourceNotExist), "nope")
	b.update(func(f *fakeBackend) {
		f.inplaceErr = &dmError{code: fsm.CodeSourceCfgUpdate, msg: "enable_gtid cannot be turned on"}
	})
	resp = do(t, srv.Client(), "PUT", url, `{"source":{"source_name":"s1","host":"h","port":1,"user":"u","password":"p","enable_gtid":true}}`, nil)
	requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeSourceCfgUpdate)

	resp = do(t, srv.Client(), "PATCH", url, `{}`, nil)
	requireErrorBody(t, resp, http.StatusMethodNotAllowed, fsm.CodeRequestInvalid)
	require.Equal(t, "GET, PUT, DELETE", resp.header.Get("Allow"))
}

func TestGetAndUpdateTaskRoutes(t *testing.T) {
	b := selfLeader("m1")
	srv, _ := newTestServer(t, b, "m1")
	url := srv.URL + "/api/v1/tasks/t1"

	resp := do(t, srv.Client(), "GET", url+"?with_status=true", "", nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	require.Contains(t, string(resp.body), `"name":"t1"`)

	resp = do(t, srv.Client(), "PUT", url, `{"task":`+minimalTaskJSON+`}`, nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	require.Equal(t, []string{"source s1: a warning"}, resp.header.Values(HeaderWarning), "the precheck's warnings, as on create")
	require.Equal(t, []string{"get task t1 true", "update task t1 t1"}, b.calls())

	for _, body := range []string{``, `{}`, `{"task":{}}`, `{"task":{"name":"t1"}}`, `[]`,
		`{"task":` + minimalTaskJSON[:len(minimalTaskJSON)-1] + `,"task_mode":"sometimes"}}`} {
		resp = do(t, srv.Client(), "PUT", url, body, nil)
		requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
	}
	require.Len(t, b.calls(), 2)

	b.update(func(f *fakeBackend) {
		f.inplaceErr = &dmError{code: fsm.CodeSubtaskCfgUpdate, msg: `task "t1" runs on source(s) s1: pause it first`}
	})
	resp = do(t, srv.Client(), "PUT", url, `{"task":`+minimalTaskJSON+`}`, nil)
	require.Contains(t, requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeSubtaskCfgUpdate), "pause it first")
	b.update(func(f *fakeBackend) {
		f.inplaceErr = Errorf(http.StatusNotFound, fsm.CodeTaskNotExist, `task "nope" does not exist`)
	})
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/tasks/nope", "", nil)
	requireErrorBody(t, resp, http.StatusNotFound, fsm.CodeTaskNotExist)
}

func TestCheckTaskRoute(t *testing.T) {
	b := selfLeader("m1")
	srv, _ := newTestServer(t, b, "m1")

	resp := do(t, srv.Client(), "POST", srv.URL+"/api/v1/tasks/check", `{"task":`+minimalTaskJSON+`}`, nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	require.JSONEq(t, `{"result":true,"msg":"pre-check is passed. ","summary":{"passed":false,"total":0,"successful":0,"failed":0,"warning":0},"results":[]}`, string(resp.body))

	// "check" is a valid task name: the other methods reach the task routes.
	resp = do(t, srv.Client(), "GET", srv.URL+"/api/v1/tasks/check", "", nil)
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	require.Equal(t, []string{"check task t1", "get task check false"}, b.calls())

	for _, body := range []string{``, `{}`, `{"task":{"name":"t1"}}`, `{"remove_meta":"yes","task":` + minimalTaskJSON + `}`} {
		resp = do(t, srv.Client(), "POST", srv.URL+"/api/v1/tasks/check", body, nil)
		requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeRequestInvalid)
	}
	b.update(func(f *fakeBackend) {
		f.inplaceErr = &dmError{code: fsm.CodeTaskSourceNotFound, msg: `source "s9" of the task does not exist`}
	})
	resp = do(t, srv.Client(), "POST", srv.URL+"/api/v1/tasks/check", `{"task":`+minimalTaskJSON+`}`, nil)
	requireErrorBody(t, resp, http.StatusBadRequest, fsm.CodeTaskSourceNotFound)
}
