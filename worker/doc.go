// Package worker is dm-worker: it registers with the masters over HTTP (never by importing
// master/), joins the gossip pool so the masters see it alive, and follows its desired state —
// binding, relay, subtasks — through the masters' blocking desired-state feed. The units that
// act on that state (relay, dump, load, sync) hang off the feed; they take their settings from
// the specs in that state through worker/settings. It answers the masters with restapi/peer's
// types and restapi/apierr's error template, and does not import the restapi package.
package worker
