// Package peer is the HTTP protocol between cluster members that is not part of DM's public
// OpenAPI: a master joining the Raft group, a worker registering, and the workers' desired-state
// feed (a Consul-style blocking query keyed by the FSM index), the workers' status reports and
// schema-tracker routes, shard-DDL coordination, and the cluster key. It holds the wire types,
// the client (which authenticates as a member: its TLS configuration and request signature come
// from internal/security) and RequireMember, the authentication that every internal route sits
// behind on masters and workers; the master serves its routes behind it and the same
// leader-forwarding middleware as /api/v1. Errors travel in DM's template (restapi/apierr). It
// does not import the restapi package, so a worker using it does not link the OpenAPI.
package peer

import (
	"github.com/dm-oss/dm/fsm"
)

// Routes served by every master (writes are forwarded to the leader).
const (
	PathJoinMaster     = "/internal/v1/masters/join"
	PathRegisterWorker = "/internal/v1/workers/register"
	// PathDesiredPrefix + <worker name> + "/desired?index=N&wait=30s"
	PathDesiredPrefix = "/internal/v1/workers/"
	// PathLoadWorker records which worker holds a subtask's unfinished load.
	PathLoadWorker = "/internal/v1/loads"
)

// LoadWorkerRequest says a worker began (Holding) or finished a subtask's load, so that the
// scheduler can prefer the worker that has the dump files if the source must move.
type LoadWorkerRequest struct {
	Task    string `json:"task"`
	Source  string `json:"source"`
	Worker  string `json:"worker"`
	Holding bool   `json:"holding"`
}

// JoinMasterRequest registers a master's addresses and, with AddVoter, adds it to the Raft
// configuration (the `join` path of dm-master).
type JoinMasterRequest struct {
	Name       string `json:"name"`
	APIAddr    string `json:"api_addr"`
	PeerAddr   string `json:"peer_addr"`
	GossipAddr string `json:"gossip_addr"`
	AddVoter   bool   `json:"add_voter"`
}

// JoinMasterResponse tells the joiner where to gossip.
type JoinMasterResponse struct {
	GossipSeeds []string `json:"gossip_seeds"`
}

// RegisterWorkerRequest registers (or re-registers) a dm-worker.
type RegisterWorkerRequest struct {
	Name              string `json:"name"`
	Addr              string `json:"addr"`
	GossipAddr        string `json:"gossip_addr"`
	KeepaliveTTL      int64  `json:"keepalive_ttl"`
	RelayKeepaliveTTL int64  `json:"relay_keepalive_ttl"`
}

// RegisterWorkerResponse carries the FSM index of the registration and the masters' gossip
// addresses to join.
type RegisterWorkerResponse struct {
	Index       uint64   `json:"index"`
	GossipSeeds []string `json:"gossip_seeds"`
}

// DesiredState is what a worker must run, as of FSM index View.Index.
type DesiredState struct {
	View        fsm.WorkerView `json:"view"`
	GossipSeeds []string       `json:"gossip_seeds"`
}

// PathClusterKey: GET → ClusterKeyResponse, the cluster key, for members only (a cluster without
// secret-key-path encrypts its secrets with it; in TLS mode, gossip is keyed by it).
const PathClusterKey = "/internal/v1/cluster/key"

// ClusterKeyResponse carries the cluster key.
type ClusterKeyResponse struct {
	Key []byte `json:"key"`
}
