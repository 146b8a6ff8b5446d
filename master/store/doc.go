// Package store is the replicated store under dm-master, in the manner of rqlite's store: one
// member of a Raft group (hashicorp/raft; log and stable store in raft-boltdb, snapshots in
// files, a TCP transport) whose state machine is the fsm package. In a secured cluster the
// transport runs over TLS (peerport.go): every connection to the Raft port completes a mutual
// handshake with the member credentials (security.Members.PeerTLS) before a byte of Raft's
// RPCs, so a stranger reaches nothing.
//
// A Store owns everything Raft: opening and bootstrapping the group, membership changes
// (AddVoter, RemoveServer, and Probe, which checks a joining member's Raft port first), the
// recovery of a group that lost its quorum (Config.Recover), Apply of typed fsm commands, the Barrier a newly elected leader
// runs before it answers, and the observation of leadership (IsLeader, LeaderWatch, the
// OnLeader hook). Reads go to the fsm.FSM it returns from FSM. A write on a node that does not
// lead fails with ErrNotLeader (a *NotLeaderError naming the leader this node knows of); the
// store never forwards anything: forwarding is the HTTP layer's (restapi.ForwardToLeader).
package store
