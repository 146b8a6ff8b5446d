package fsm

import (
	"encoding/json"
	"fmt"
)

// Version 1 of the log entry envelope and of the snapshot stream carried a source's and a task's
// configuration as opaque bytes under "config" (base64 in JSON): the JSON of what the master then
// called peer.StoredSource and peer.StoredTask. SourceSpec and TaskSpec keep those fields under
// the same names, so the bytes decode into a spec, version 1. Logs and snapshots written before
// specs were typed are read through these types; only AddSource, AddTask and the source and task
// records differ between versions 1 and 2.
//
// The bytes are decoded like their readers did (encoding/json, unknown fields ignored), so an
// old cluster's state means what it meant. Bytes that are no JSON object cannot be upgraded: no
// master ever wrote them. Empty bytes give an empty spec, version 0, which the commands and the
// state checks refuse like any spec this build cannot read.

// legacyVersion is the envelope and snapshot version whose configs were opaque bytes.
const legacyVersion = 1

type legacySource struct {
	Name            string `json:"name"`
	Config          []byte `json:"config"`
	RelayBinlogName string `json:"relay_binlog_name"`
	RelayBinlogGTID string `json:"relay_binlog_gtid"`
	RelayDir        string `json:"relay_dir"`
	LastWorker      string `json:"last_worker"`
}

type legacyTask struct {
	Name     string              `json:"name"`
	Config   []byte              `json:"config"`
	Subtasks map[string]*Subtask `json:"subtasks"`
}

func (l legacySource) upgrade() (Source, error) {
	src := Source{Name: l.Name, RelayBinlogName: l.RelayBinlogName, RelayBinlogGTID: l.RelayBinlogGTID, RelayDir: l.RelayDir, LastWorker: l.LastWorker}
	if len(l.Config) > 0 {
		if err := json.Unmarshal(l.Config, &src.Spec); err != nil {
			return Source{}, fmt.Errorf("config of source %q: %w", l.Name, err)
		}
		src.Spec.Version = legacyVersion
	}
	return src, nil
}

func (l legacyTask) upgrade() (*Task, error) {
	t := &Task{Name: l.Name, Subtasks: l.Subtasks}
	if len(l.Config) > 0 {
		if err := json.Unmarshal(l.Config, &t.Spec); err != nil {
			return nil, fmt.Errorf("config of task %q: %w", l.Name, err)
		}
		t.Spec.Version = legacyVersion
	}
	return t, nil
}

// decodeLegacyBody decodes the body of a command logged with envelope version 1.
func decodeLegacyBody(body []byte, c Command) error {
	switch c := c.(type) {
	case *AddSource:
		var v struct {
			Source legacySource `json:"source"`
		}
		if err := unmarshalStrict(body, &v); err != nil {
			return err
		}
		src, err := v.Source.upgrade()
		c.Source = src
		return err
	case *AddTask:
		var v struct {
			Task legacyTask `json:"task"`
		}
		if err := unmarshalStrict(body, &v); err != nil {
			return err
		}
		t, err := v.Task.upgrade()
		if t != nil {
			c.Task = *t
		}
		return err
	}
	return unmarshalStrict(body, c)
}

// restoreUpgraded decodes one record of a version 1 snapshot through its legacy type L and adds
// the upgraded value to m.
func restoreUpgraded[L, V any](data json.RawMessage, m map[string]V, upgrade func(L) (V, error), name func(V) string) error {
	var l L
	if err := unmarshalStrict(data, &l); err != nil {
		return err
	}
	v, err := upgrade(l)
	if err != nil {
		return err
	}
	return putNew(m, name(v), v)
}
