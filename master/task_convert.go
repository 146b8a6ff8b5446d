package master

import (
	"context"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/dmyaml"
)

// ConvertTask converts a task into DM's task.yaml or back (restapi/dmyaml does the work; no
// state is read). The answer masks the target password and leaves out TLS material in both
// forms, as every answer does, so it shows a file to fill in rather than one to re-apply as
// is. No password is decrypted and no TLS file is read on the master.
func (s *Server) ConvertTask(ctx context.Context, req restapi.ConverterTaskRequest) (restapi.ConverterTaskResponse, error) {
	if (req.Task == nil) == (req.TaskConfigFile == nil) {
		return restapi.ConverterTaskResponse{}, badRequest(fsm.CodeOpenAPICommon, "give exactly one of task and task_config_file")
	}
	var task restapi.Task
	warnings := []string{}
	if req.TaskConfigFile != nil {
		t, warns, err := dmyaml.ParseTask([]byte(*req.TaskConfigFile), dmyaml.Options{})
		if err != nil {
			return restapi.ConverterTaskResponse{}, badRequest(fsm.CodeConfigYAML, "%v", err)
		}
		task = t
		for _, w := range warns {
			warnings = append(warnings, w.String())
		}
	} else {
		task = *req.Task
	}
	task.TargetConfig.Password = maskedPassword
	if sec := task.TargetConfig.Security; sec != nil {
		task.TargetConfig.Security = &restapi.Security{CertAllowedCn: sec.CertAllowedCn}
	}
	file, err := dmyaml.TaskYAML(task)
	if err != nil {
		return restapi.ConverterTaskResponse{}, badRequest(fsm.CodeConfigYAML, "the task cannot be written as a DM task file: %v", err)
	}
	return restapi.ConverterTaskResponse{Task: task, TaskConfigFile: string(file), Warnings: &warnings}, nil
}
