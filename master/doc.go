// Package master is dm-master: the API backend of DM's OpenAPI (restapi) and of the members'
// internal protocol (restapi/peer), over a replicated store.
//
//   - store/ (package store) is the Raft member under it, as in rqlite: it opens Raft
//     (raft-boltdb, file snapshots, TCP transport), bootstraps and changes membership, applies
//     typed fsm commands (ErrNotLeader on a node that does not lead), runs the Barrier a new
//     leader needs before it answers, observes leadership, and gives read access to the
//     replicated fsm.FSM. Server talks to Raft only through it; s.apply is its one write path.
//   - Server (server.go, loops.go) wires HTTP, gossip (membership) and the background loops:
//     the scheduler binding sources to live workers (scheduler.go), worker liveness from
//     gossip leases (liveness.go), the leader's master records and metrics.
//   - The backend: cluster routes (backend.go), sources and relay (sources.go, relay.go), tasks
//     (tasks*.go, task_*.go), shard DDL (shard.go), the peer protocol (peer_http.go).
//
// Writes arriving at a follower are forwarded to the leader by restapi's one forwarding
// middleware (restapi.ForwardToLeader, fed by Server.Leader); the handlers here then run on the
// leader.
package master
