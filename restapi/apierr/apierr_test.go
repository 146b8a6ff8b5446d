package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dm-oss/dm/fsm"
)

// TestWriteErrorTemplate: the statuses and codes of the template, as every port answers them
// (restapi's own tests cover the whole mapping through its re-exported names).
func TestWriteErrorTemplate(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   fsm.Code
		msg    string
	}{
		{Errorf(http.StatusBadRequest, fsm.CodeWorkerNotPaused, "task %q is Running", "t1"), 400, fsm.CodeWorkerNotPaused, `task "t1" is Running`},
		{fmt.Errorf("relay: %w", Errorf(400, fsm.CodeDBDriver, "target: down")), 400, fsm.CodeDBDriver, "relay: target: down"},
		{fmt.Errorf("apply: %w", ErrNoLeader), 503, fsm.CodeNoLeader, "no dm-master leader was elected within the timeout, retry later: apply: no leader"},
		{errors.New("disk on fire"), 500, fsm.CodeInternal, "disk on fire"},
	} {
		rec := httptest.NewRecorder()
		WriteError(rec, tc.err)
		require.Equal(t, tc.status, rec.Code)
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		require.Equal(t, map[string]any{"error_msg": tc.msg, "error_code": float64(tc.code)}, body)
	}
}
