// Package store is the replicated store under dm-master, in the manner of rqlite's store: one
// member of a Raft group (hashicorp/raft; log and stable store in raft-boltdb, snapshots in
// files, a TCP transport) whose state machine is the fsm package.
//
// A Store owns everything Raft: opening and bootstrapping the group, membership changes
// (AddVoter, RemoveServer), Apply of typed fsm commands, the Barrier a newly elected leader
// runs before it answers, and the observation of leadership (IsLeader, LeaderWatch, the
// OnLeader hook). Reads go to the fsm.FSM it returns from FSM. A write on a node that does not
// lead fails with ErrNotLeader (a *NotLeaderError naming the leader this node knows of); the
// store never forwards anything: forwarding is the HTTP layer's (restapi.ForwardToLeader).
package store
