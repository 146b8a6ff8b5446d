package master

import (
	"net/http"
	"testing"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi/peer"
	"github.com/stretchr/testify/require"
)

// TestJoinWithATakenPeerAddress: a master may not join under another master's Raft address; the
// refusal has its own code (once it shared 38032 with "no leader" and "lock not found").
func TestJoinWithATakenPeerAddress(t *testing.T) {
	s := startTestMaster(t)
	a := do(t, s, http.MethodPost, peer.PathJoinMaster, peer.JoinMasterRequest{
		Name: "m2", APIAddr: "127.0.0.1:1", PeerAddr: s.res.raftAdvertise, AddVoter: true,
	})
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
	require.Equal(t, fsm.CodeMasterJoinFail, a.code(t))
	require.Contains(t, errorMsg(t, a), `is already used by master "m1"`)

	a = do(t, s, http.MethodPost, peer.PathJoinMaster, peer.JoinMasterRequest{Name: "m2"})
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
	require.Equal(t, fsm.CodeRequestInvalid, a.code(t))
}
