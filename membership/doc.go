// Package membership owns the gossip pool (hashicorp/memberlist) that dm-masters and dm-workers
// join to see each other: who is alive, with which role, name and advertised addresses.
//
// It knows nothing about Raft or the FSM. Each process joins under a unique node name
// ("<role>/<name>/<boot id>") so that a restarted process never collides with the ghost of its
// previous run; callers reason about logical members (role + name) through Member and Event.
package membership
