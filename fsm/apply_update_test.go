package fsm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gtidSource is a source on server 7 that reads by GTID.
func gtidSource(name string) *AddSource {
	s := source(name)
	s.Source.Spec.EnableGTID, s.Source.Spec.Flavor, s.Source.Spec.ServerID = true, "mariadb", 7
	return s
}

func TestUpdateSource(t *testing.T) {
	h := seeded(t)
	h.ok(gtidSource("g1"), &BindSource{Source: "g1", Worker: "w1"}, plainTask("t1", "g1"))
	h.ok(&StartRelay{Source: "s1", Workers: []string{"w2"}, RelayDir: "/relay"}, &BindSource{Source: "s1", Worker: "w2"}, &UnbindSource{Source: "s1"})

	// A failover to another server while the task runs: GTID on before and after.
	spec := sourceSpec("g1")
	spec.Host, spec.Port, spec.PasswordEnc, spec.EnableGTID, spec.Flavor, spec.ServerID = "replica", 3307, "enc-new", true, "mariadb", 9
	h.ok(&UpdateSource{Name: "g1", Spec: spec})
	got, ok := h.f.Source("g1")
	require.True(t, ok)
	assert.Equal(t, spec, got.Spec)
	w, _ := h.f.BoundWorker("g1")
	assert.Equal(t, "w1", w, "the binding stays")
	view := h.f.WorkerView("w1")
	require.NotNil(t, view.Bound)
	assert.Equal(t, spec, view.Bound.Spec, "the bound worker sees the new spec")

	// The relay settings stay; the same server may change anything while relayed.
	s1 := sourceSpec("s1")
	s1.Port, s1.User = 3399, "other"
	h.ok(&UpdateSource{Name: "s1", Spec: s1})
	got, _ = h.f.Source("s1")
	assert.Equal(t, "/relay", got.RelayDir)
	assert.Equal(t, "w2", got.LastWorker)
	assert.Equal(t, s1, got.Spec)

	// Reads are deep copies of the new spec.
	got.Spec.Security.CertAllowedCN[0] = "X"
	again, _ := h.f.Source("s1")
	assert.Equal(t, s1, again.Spec)
}

func TestUpdateSourceRejects(t *testing.T) {
	h := seeded(t)
	h.ok(task("t1", "s1"), gtidSource("g1"), plainTask("t2", "g1"), &SetSubtaskStage{Task: "t2", Stage: StagePaused})

	h.reject(&UpdateSource{Name: "nope", Spec: sourceSpec("nope")}, CodeSourceNotExist)
	bad := sourceSpec("s2")
	bad.Version = 2
	h.reject(&UpdateSource{Name: "s2", Spec: bad}, CodeRequestInvalid)

	// GTID on while a subtask of the source runs.
	on := sourceSpec("s1")
	on.EnableGTID = true
	e := h.reject(&UpdateSource{Name: "s1", Spec: on}, CodeSourceCfgUpdate)
	assert.Contains(t, e.Msg, "t1")
	assert.Contains(t, e.Msg, "pause")
	// ... allowed once it is paused, and on a source without tasks.
	h.ok(&SetSubtaskStage{Task: "t1", Stage: StagePaused}, &UpdateSource{Name: "s1", Spec: on})
	on2 := sourceSpec("s2")
	on2.EnableGTID = true
	h.ok(&UpdateSource{Name: "s2", Spec: on2})

	// Another server: the tasks need GTID before and after.
	other := gtidSource("g1").Source.Spec
	other.ServerID = 9
	off := other
	off.EnableGTID = false
	e = h.reject(&UpdateSource{Name: "g1", Spec: off}, CodeSourceCfgUpdate)
	assert.Contains(t, e.Msg, "server_id 9, was mariadb server_id 7")
	otherFlavor := gtidSource("g1").Source.Spec
	otherFlavor.Flavor = "mysql"
	otherFlavor.EnableGTID = false
	h.reject(&UpdateSource{Name: "g1", Spec: otherFlavor}, CodeSourceCfgUpdate)
	h.ok(&UpdateSource{Name: "g1", Spec: other})

	// Another server while a worker relays the source.
	h.ok(&StartRelay{Source: "g1", Workers: []string{"w3"}})
	moved := other
	moved.ServerID = 11
	e = h.reject(&UpdateSource{Name: "g1", Spec: moved}, CodeSourceCfgUpdate)
	assert.Contains(t, e.Msg, "relay")
	same := other
	same.Host = "vip"
	h.ok(&UpdateSource{Name: "g1", Spec: same})

	// The check the masters run first answers as the apply does.
	err := h.f.CheckUpdateSource(UpdateSource{Name: "g1", Spec: moved})
	code, ok := CodeOf(err)
	require.True(t, ok)
	assert.Equal(t, CodeSourceCfgUpdate, code)
	assert.NoError(t, h.f.CheckUpdateSource(UpdateSource{Name: "g1", Spec: same}))
}

func TestUpdateTask(t *testing.T) {
	h := seeded(t)
	h.ok(task("t1", "s1", "s2"), &BindSource{Source: "s1", Worker: "w1"}, &SetSubtaskStage{Task: "t1", Stage: StagePaused})
	h.ok(&SetSubtaskStage{Task: "t1", Sources: []string{"s2"}, Stage: StageStopped})

	spec := taskSpec("t1", "s1", "s2")
	spec.Incr = IncrSpec{ReplThreads: 4, ReplBatch: 500}
	spec.Filters["g"] = FilterSpec{IgnoreSQL: []string{"^TRUNCATE"}}
	spec.Sources["s1"] = SubtaskSpec{Rules: []RuleSpec{{Schema: "db", Table: "*"}, {Schema: "more", Table: "t*", FilterRules: []string{"g"}}}}
	spec.Target.PasswordEnc = "enc-new"
	spec.PrecheckWarnings = map[string][]string{"s2": {"no key"}}
	h.ok(&UpdateTask{Spec: spec})

	got, _ := h.f.Task("t1")
	assert.Equal(t, spec, got.Spec)
	assert.Equal(t, StagePaused, got.Subtasks["s1"].Stage, "the stages stay")
	assert.Equal(t, StageStopped, got.Subtasks["s2"].Stage)
	view := h.f.WorkerView("w1")
	require.Len(t, view.Subtasks, 1)
	assert.Equal(t, spec, view.Subtasks[0].Spec, "the worker sees the new spec")
}

func TestUpdateTaskRejects(t *testing.T) {
	h := seeded(t)
	h.ok(task("t1", "s1", "s2"), &SetSubtaskStage{Task: "t1", Sources: []string{"s1"}, Stage: StagePaused})

	h.reject(&UpdateTask{Spec: taskSpec("", "s1")}, CodeRequestInvalid)
	h.reject(&UpdateTask{Spec: taskSpec("nope", "s1")}, CodeTaskNotExist)
	e := h.reject(&UpdateTask{Spec: taskSpec("t1", "s1", "s2")}, CodeSubtaskCfgUpdate)
	assert.Contains(t, e.Msg, "s2")
	assert.Contains(t, e.Msg, "pause")
	h.ok(&SetSubtaskStage{Task: "t1", Sources: []string{"s2"}, Stage: StagePaused})

	bad := taskSpec("t1", "s1", "s2")
	bad.Version = 9
	h.reject(&UpdateTask{Spec: bad}, CodeRequestInvalid)

	for name, change := range map[string]func(*TaskSpec){
		"task_mode":                    func(s *TaskSpec) { s.Mode = TaskModeIncremental },
		"shard_mode":                   func(s *TaskSpec) { s.ShardMode = "optimistic" },
		"meta_schema":                  func(s *TaskSpec) { s.MetaSchema = "other_meta" },
		"full_migrate_conf.data_dir":   func(s *TaskSpec) { s.Full.DataDir = "elsewhere" },
		"enhance_online_schema_change": func(s *TaskSpec) { s.EnhanceOnlineSchemaChange = true },
		"the set of sources":           func(s *TaskSpec) { s.Sources["s3"] = s.Sources["s1"] },
		"source_conf[s2].binlog_gtid":  func(s *TaskSpec) { c := s.Sources["s2"]; c.BinlogGTID = "0-1-5"; s.Sources["s2"] = c },
		"source_conf[s1].binlog_name":  func(s *TaskSpec) { c := s.Sources["s1"]; c.BinlogName = "b.000002"; s.Sources["s1"] = c },
		"source_conf[s1].binlog_pos":   func(s *TaskSpec) { c := s.Sources["s1"]; c.BinlogPos = 4; s.Sources["s1"] = c },
	} {
		spec := taskSpec("t1", "s1", "s2")
		change(&spec)
		e := h.reject(&UpdateTask{Spec: spec}, CodeSubtaskCfgUpdate)
		assert.Contains(t, e.Msg, name, name)
		assert.NoError(t, checkNamed(h, spec, name))
	}
	fewer := taskSpec("t1", "s1")
	e = h.reject(&UpdateTask{Spec: fewer}, CodeSubtaskCfgUpdate)
	assert.Contains(t, e.Msg, "the set of sources (source_config.source_conf: s1, was s1, s2)")

	// A pending shard lock holds the rules in place.
	h.ok(&SetSubtaskStage{Task: "t1", Stage: StageRunning},
		&ReportShardDDL{Task: "t1", Source: "s1", Target: "`db`.`t`", DDLs: []string{"ALTER 1"}},
		&SetSubtaskStage{Task: "t1", Stage: StagePaused})
	e = h.reject(&UpdateTask{Spec: taskSpec("t1", "s1", "s2")}, CodeSubtaskCfgUpdate)
	assert.Contains(t, e.Msg, "shard DDL lock")
}

// checkNamed checks that the masters' dry run refuses the spec with the code of the apply and
// that FrozenTaskChanges names the field.
func checkNamed(h *harness, spec TaskSpec, field string) error {
	err := h.f.CheckUpdateTask(UpdateTask{Spec: spec})
	if code, _ := CodeOf(err); code != CodeSubtaskCfgUpdate {
		return err
	}
	old, _ := h.f.Task(spec.Name)
	for _, f := range FrozenTaskChanges(old.Spec, spec) {
		if len(f) >= len(field) && f[:len(field)] == field {
			return nil
		}
	}
	return assert.AnError
}

func TestFrozenTaskChangesAllowsTheRest(t *testing.T) {
	old := fullTaskSpec()
	updated := fullTaskSpec()
	updated.API = []byte(`{"name":"t1","task_mode":"all","x":1}`)
	updated.OnDuplicate, updated.Collation = "error", "strict"
	updated.Target = TargetSpec{Host: "t2", Port: 4001, User: "u2", PasswordEnc: "p2"}
	updated.Filters = nil
	updated.Full.ExportThreads, updated.Full.ImportThreads, updated.Full.Consistency = 9, 9, "flush"
	updated.Incr = IncrSpec{ReplThreads: 32, ReplBatch: 1000}
	st := updated.Sources["s1"]
	st.Rules = []RuleSpec{{Schema: "x", Table: "y"}}
	updated.Sources = map[string]SubtaskSpec{"s1": st}
	updated.PrecheckWarnings, updated.KeepDumpFiles = nil, false
	assert.Empty(t, FrozenTaskChanges(old, updated))
}
