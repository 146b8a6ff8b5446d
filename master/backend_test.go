package master

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dm-oss/dm/fsm"
	"github.com/stretchr/testify/require"
)

// TestOfflineLastMasterIs400: removing the only master is refused with a clear 400 and the
// master keeps serving (its addresses are not forgotten first).
func TestOfflineLastMasterIs400(t *testing.T) {
	s := startTestMaster(t)
	// The leader records itself in the FSM just after it wins (leaderLoop): wait for the record
	// the DELETE must not remove.
	require.Eventually(t, func() bool { _, ok := s.state.Master("m1"); return ok }, 15*time.Second, 20*time.Millisecond)
	a := do(t, s, http.MethodDelete, "/api/v1/cluster/masters/m1", nil)
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
	require.Equal(t, fsm.CodeOpenAPICommon, a.code(t))
	require.Contains(t, errorMsg(t, a), `dm-master "m1" is the last master`)

	a = do(t, s, http.MethodGet, "/api/v1/cluster/masters", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Contains(t, string(a.body), fmt.Sprintf(`"addr":"%s"`, s.APIAddr()))
	_, ok := s.state.Master("m1")
	require.True(t, ok)
}
