package master

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dm-oss/dm/restapi"
)

// DM's check-task texts.
const (
	checkPassed = "pre-check is passed. "
	checkHeader = "fail to check synchronization configuration with type"
)

// CheckTask validates the request as CreateTask does and runs the whole precheck on the
// target and the sources (source_name_list, else all), changing nothing in the cluster. A task
// that would not start is a result (result false), not an error; an invalid one is a 400.
func (s *Server) CheckTask(ctx context.Context, req restapi.CreateTaskRequest) (restapi.CheckTaskResponse, error) {
	spec, order, err := s.taskSpec(ctx, req.Task)
	if err != nil {
		return restapi.CheckTaskResponse{}, err
	}
	sources, err := listedSources(req, spec.Sources, order)
	if err != nil {
		return restapi.CheckTaskResponse{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, 2*upstreamTimeout)
	defer cancel()
	report := s.precheck(cctx, spec, sources, false)
	for _, src := range sources {
		if _, bound := s.state.BoundWorker(src); !bound {
			report = append(report, check{name: "source " + src + ": bound worker", source: src,
				desc:        "a dm-worker serves the source, so that its subtask can start",
				warnings:    []string{fmt.Sprintf("source %s has no bound worker: the task cannot start on it until a free dm-worker takes it", src)},
				instruction: "start a dm-worker"})
		}
	}
	s.logger.Info("task checked", "task", spec.Name, "sources", sources, "passed", report.failure() == nil)
	return report.response(), nil
}

// response is the report as DM's check-task answers it.
func (r precheckReport) response() restapi.CheckTaskResponse {
	out := restapi.CheckTaskResponse{Results: []restapi.CheckItem{}}
	var detail []restapi.CheckItem
	var first error
	for i, c := range r {
		item := restapi.CheckItem{Id: i + 1, Name: c.name, Desc: c.desc, State: restapi.CheckItemStateSuccess}
		switch {
		case c.failure != nil:
			item.State = restapi.CheckItemStateFail
			item.Errors = &[]restapi.CheckError{{Severity: restapi.CheckErrorSeverityFail, ShortError: c.failure.Error()}}
			out.Summary.Failed++
			if first == nil {
				first = c.failure
			}
		case len(c.warnings) > 0:
			item.State = restapi.CheckItemStateWarn
			errs := make([]restapi.CheckError, len(c.warnings))
			for j, w := range c.warnings {
				errs[j] = restapi.CheckError{Severity: restapi.CheckErrorSeverityWarn, ShortError: w}
			}
			item.Errors = &errs
			out.Summary.Warning++
		default:
			out.Summary.Successful++
		}
		if item.State != restapi.CheckItemStateSuccess && c.instruction != "" {
			instruction := c.instruction
			item.Instruction = &instruction
		}
		out.Results = append(out.Results, item)
		if item.State != restapi.CheckItemStateSuccess {
			detail = append(detail, item)
		}
	}
	out.Summary.Total = len(r)
	out.Summary.Passed = first == nil
	out.Result = first == nil
	out.Msg = checkMessage(first, out.Summary, detail)
	return out
}

// checkMessage is DM's msg of check-task: the pass, or the header with the first failure (or
// "no errors but some warnings") and the checks that did not pass as JSON.
func checkMessage(first error, summary restapi.CheckSummary, detail []restapi.CheckItem) string {
	if len(detail) == 0 {
		return checkPassed
	}
	what := "no errors but some warnings"
	if first != nil {
		what = first.Error()
	}
	body, err := json.Marshal(struct {
		Results []restapi.CheckItem  `json:"results"`
		Summary restapi.CheckSummary `json:"summary"`
	}{detail, summary})
	if err != nil {
		return fmt.Sprintf("%s: %s", checkHeader, what)
	}
	return fmt.Sprintf("%s: %s\n detail: %s", checkHeader, what, body)
}
