// Package master is dm-master: one member of the Raft group (hashicorp/raft, stores in
// raft-boltdb) whose replicated state is the fsm package, the gossip pool member that watches
// workers, and the HTTP server for DM's OpenAPI (restapi) and the members' internal protocol
// (restapi/peer). Writes arriving at a follower are forwarded to the leader by restapi's one
// forwarding middleware; the handlers here then run on the leader.
package master
