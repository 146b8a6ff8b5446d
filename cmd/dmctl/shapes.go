package main

import (
	"text/tabwriter"
)

// DM's dmctl prints its gRPC answers as protobuf JSON (field order of the .proto, defaults
// included, 64-bit integers as strings). The types here reproduce the shapes its scripts read.

// dmResult is DM's bare answer: {"result": true, "msg": ""}.
type dmResult struct {
	Result bool   `json:"result"`
	Msg    string `json:"msg"`
}

// dmWorkerResponse is DM's CommonWorkerResponse: what one source (and its worker) answered.
type dmWorkerResponse struct {
	Result bool   `json:"result"`
	Msg    string `json:"msg"`
	Source string `json:"source"`
	Worker string `json:"worker"`
}

// dmSourcesResponse is the answer of operate-source, start-relay, stop-relay, binlog-schema.
type dmSourcesResponse struct {
	Result  bool               `json:"result"`
	Msg     string             `json:"msg"`
	Sources []dmWorkerResponse `json:"sources"`
}

// dmOpResponse is the answer of stop/pause/resume-task and pause/resume-relay: the operation
// by DM's enum name (Stop, Pause, Resume, PauseRelay, ResumeRelay) first.
type dmOpResponse struct {
	Op      string             `json:"op"`
	Result  bool               `json:"result"`
	Msg     string             `json:"msg"`
	Sources []dmWorkerResponse `json:"sources"`
}

// ok is a successful dmResult.
func ok() dmResult { return dmResult{Result: true} }

// sourcesView prints worker responses: DM's shape, or one line per source.
func sourcesView(shape any, rows []dmWorkerResponse) view {
	return view{dm: shape, table: func(tw *tabwriter.Writer) {
		row(tw, "SOURCE", "WORKER", "RESULT", "MESSAGE")
		for _, r := range rows {
			res := "ok"
			if !r.Result {
				res = "failed"
			}
			row(tw, r.Source, dash(r.Worker), res, r.Msg)
		}
	}}
}

// messageView prints a bare result: DM's shape, or one sentence.
func messageView(shape any, sentence string) view {
	return view{dm: shape, table: func(tw *tabwriter.Writer) { row(tw, sentence) }}
}

// dash stands in for an empty cell.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
