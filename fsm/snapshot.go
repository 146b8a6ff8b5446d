package fsm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
)

// SnapshotVersion is the version of the snapshot stream that WriteTo writes. Restore also reads
// version 1, whose source and task records carried opaque configs instead of specs (legacy.go).
const SnapshotVersion = 2

// Record kinds of the snapshot stream. The stream is one JSON record per line: the header first,
// then masters, workers, sources, bindings, relays, tasks and shard locks, each kind sorted by
// name, then the shard column claims sorted by task and target, then the binlog operations sorted
// by task, source and position, then the end record. Equal states
// therefore give byte-equal snapshots.
const (
	kindHeader  = "header"
	kindMaster  = "master"
	kindWorker  = "worker"
	kindSource  = "source"
	kindBinding = "binding"
	kindRelay   = "relay"
	kindTask    = "task"
	// kindShardLock is a ShardLock; kindShardColumns holds every column claim on one target table.
	kindShardLock    = "shard_lock"
	kindShardColumns = "shard_columns"
	// kindBinlogOp is a BinlogOp, after the shard records, sorted by task, source and position.
	kindBinlogOp = "binlog_op"
	// kindClusterKey holds the cluster key, right after the header, when it is set.
	kindClusterKey = "cluster_key"
	// kindEnd closes the stream with the number of records in between, so that a stream cut at
	// a record boundary is not mistaken for a smaller state.
	kindEnd = "end"
)

type snapshotHeader struct {
	Version int    `json:"version"`
	Index   uint64 `json:"index"`
}

type snapshotBinding struct {
	Source string `json:"source"`
	Worker string `json:"worker"`
}

// snapshotShardColumns is the column claims on one target table of a task.
type snapshotShardColumns struct {
	Task    string                 `json:"task"`
	Target  string                 `json:"target"`
	Columns map[string]ShardColumn `json:"columns"` // encoding/json writes the keys sorted
}

type snapshotClusterKey struct {
	Key []byte `json:"key"` // base64 in JSON
}

type snapshotEnd struct {
	Records int `json:"records"`
}

// Snapshot is a point-in-time copy of the state, taken quickly under the read lock and written
// out later, while the FSM goes on applying.
type Snapshot struct {
	index uint64
	st    *state
}

// Snapshot copies the current state.
func (f *FSM) Snapshot() *Snapshot {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return &Snapshot{index: f.index, st: f.st.clone()}
}

// Index is the index of the last log entry the snapshot includes.
func (s *Snapshot) Index() uint64 { return s.index }

// WriteTo streams the snapshot to w; it may be called more than once.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriter(cw)
	enc := json.NewEncoder(bw)
	records := 0
	write := func(kind string, data any) error {
		records++
		if err := enc.Encode(struct {
			Kind string `json:"kind"`
			Data any    `json:"data"`
		}{kind, data}); err != nil {
			return fmt.Errorf("fsm: write snapshot %s record: %w", kind, err)
		}
		return nil
	}
	err := s.writeRecords(write)
	if err == nil {
		err = write(kindEnd, snapshotEnd{Records: records - 1})
	}
	if err == nil {
		if ferr := bw.Flush(); ferr != nil {
			err = fmt.Errorf("fsm: write snapshot: %w", ferr)
		}
	}
	return cw.n, err
}

func (s *Snapshot) writeRecords(write func(kind string, data any) error) error {
	st := s.st
	if err := write(kindHeader, snapshotHeader{Version: SnapshotVersion, Index: s.index}); err != nil {
		return err
	}
	if st.clusterKey != nil {
		if err := write(kindClusterKey, snapshotClusterKey{Key: st.clusterKey}); err != nil {
			return err
		}
	}
	if err := writeSorted(write, kindMaster, st.masters, value); err != nil {
		return err
	}
	if err := writeSorted(write, kindWorker, st.workers, value); err != nil {
		return err
	}
	if err := writeSorted(write, kindSource, st.sources, value); err != nil {
		return err
	}
	binding := func(source, worker string) any { return snapshotBinding{Source: source, Worker: worker} }
	if err := writeSorted(write, kindBinding, st.bindings, binding); err != nil {
		return err
	}
	if err := writeSorted(write, kindRelay, st.relays, value); err != nil {
		return err
	}
	if err := writeSorted(write, kindTask, st.tasks, value); err != nil {
		return err
	}
	if err := writeSorted(write, kindShardLock, st.shardLocks, value); err != nil {
		return err
	}
	for _, task := range slices.Sorted(maps.Keys(st.shardCols)) {
		columns := func(target string, cols map[string]ShardColumn) any {
			return snapshotShardColumns{Task: task, Target: target, Columns: cols}
		}
		if err := writeSorted(write, kindShardColumns, st.shardCols[task], columns); err != nil {
			return err
		}
	}
	for _, o := range st.sortedBinlogOps("", nil) {
		if err := write(kindBinlogOp, o); err != nil {
			return err
		}
	}
	return nil
}

// writeSorted writes one record per map entry, in key order.
func writeSorted[V any](write func(kind string, data any) error, kind string, m map[string]V, data func(string, V) any) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := write(kind, data(k, m[k])); err != nil {
			return err
		}
	}
	return nil
}

func value[V any](_ string, v V) any { return v }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Restore replaces the state with the snapshot read from r. The stream is decoded into a fresh
// state and checked in full first; on any error the FSM keeps its old state and index.
func (f *FSM) Restore(r io.Reader) error {
	st, index, err := readSnapshot(r)
	if err != nil {
		return fmt.Errorf("fsm: restore snapshot: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st = st
	f.advanceLocked(index)
	return nil
}

type snapshotRecord struct {
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
}

func readSnapshot(r io.Reader) (*state, uint64, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	next := func() (snapshotRecord, error) {
		var rec snapshotRecord
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			return rec, errors.New("stream ends before its end record (truncated)")
		}
		if err != nil {
			return rec, fmt.Errorf("read record: %w", err)
		}
		return rec, nil
	}

	rec, err := next()
	if err != nil {
		return nil, 0, err
	}
	if rec.Kind != kindHeader {
		return nil, 0, fmt.Errorf("first record is %q, want %q", rec.Kind, kindHeader)
	}
	var hdr snapshotHeader
	if err := unmarshalStrict(rec.Data, &hdr); err != nil {
		return nil, 0, fmt.Errorf("decode header: %w", err)
	}
	if hdr.Version != SnapshotVersion && hdr.Version != legacyVersion {
		return nil, 0, fmt.Errorf("unsupported snapshot version %d (this build reads %d and %d)", hdr.Version, legacyVersion, SnapshotVersion)
	}

	st := newState()
	for records := 0; ; records++ {
		rec, err := next()
		if err != nil {
			return nil, 0, err
		}
		if rec.Kind == kindEnd {
			var end snapshotEnd
			if err := unmarshalStrict(rec.Data, &end); err != nil {
				return nil, 0, fmt.Errorf("decode end record: %w", err)
			}
			if end.Records != records {
				return nil, 0, fmt.Errorf("end record counts %d records, the stream has %d", end.Records, records)
			}
			break
		}
		if err := st.restoreRecord(rec, hdr.Version); err != nil {
			return nil, 0, fmt.Errorf("record %d (%s): %w", records+1, rec.Kind, err)
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, 0, errors.New("data after the end record")
	}
	if err := st.check(); err != nil {
		return nil, 0, fmt.Errorf("inconsistent state: %w", err)
	}
	return st, hdr.Index, nil
}

// restoreRecord adds one record of a snapshot of the given version to a state being restored.
// It refuses duplicates, which the maps would otherwise silently collapse; check verifies the
// rest once all records are in.
func (s *state) restoreRecord(rec snapshotRecord, version int) error {
	if len(rec.Data) == 0 || bytes.Equal(rec.Data, []byte("null")) {
		return errors.New("record has no data")
	}
	if version == legacyVersion {
		switch rec.Kind {
		case kindSource:
			return restoreUpgraded(rec.Data, s.sources, legacySource.upgrade, func(src Source) string { return src.Name })
		case kindTask:
			return restoreUpgraded(rec.Data, s.tasks, legacyTask.upgrade, func(t *Task) string { return t.Name })
		}
	}
	switch rec.Kind {
	case kindMaster:
		_, err := restoreNamed(rec.Data, s.masters, func(m Master) string { return m.Name })
		return err
	case kindWorker:
		_, err := restoreNamed(rec.Data, s.workers, func(w Worker) string { return w.Name })
		return err
	case kindSource:
		_, err := restoreNamed(rec.Data, s.sources, func(src Source) string { return src.Name })
		return err
	case kindTask:
		_, err := restoreNamed(rec.Data, s.tasks, func(t *Task) string { return t.Name })
		return err
	case kindShardLock:
		_, err := restoreNamed(rec.Data, s.shardLocks, func(l ShardLock) string { return l.ID })
		return err
	case kindShardColumns:
		var sc snapshotShardColumns
		if err := unmarshalStrict(rec.Data, &sc); err != nil {
			return err
		}
		if s.shardCols[sc.Task] == nil {
			s.shardCols[sc.Task] = map[string]map[string]ShardColumn{}
		}
		if sc.Columns == nil {
			sc.Columns = map[string]ShardColumn{} // check refuses it, as an empty set of claims
		}
		return putNew(s.shardCols[sc.Task], sc.Target, sc.Columns)
	case kindBinlogOp:
		_, err := restoreNamed(rec.Data, s.binlogOps, BinlogOp.key)
		return err
	case kindClusterKey:
		var k snapshotClusterKey
		if err := unmarshalStrict(rec.Data, &k); err != nil {
			return err
		}
		if s.clusterKey != nil {
			return errors.New("the cluster key appears twice")
		}
		if k.Key == nil {
			k.Key = []byte{} // check refuses it, as a key of the wrong size
		}
		s.clusterKey = k.Key
		return nil
	case kindBinding:
		var b snapshotBinding
		if err := unmarshalStrict(rec.Data, &b); err != nil {
			return err
		}
		if err := putNew(s.bindings, b.Source, b.Worker); err != nil {
			return err
		}
		return putNew(s.boundSource, b.Worker, b.Source)
	case kindRelay:
		r, err := restoreNamed(rec.Data, s.relays, func(r Relay) string { return r.Source })
		if err != nil {
			return err
		}
		for _, w := range r.Workers {
			if err := putNew(s.relayOf, w, r.Source); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown record kind %q", rec.Kind)
}

// restoreNamed decodes one record and adds it to m under the name it carries.
func restoreNamed[V any](data json.RawMessage, m map[string]V, name func(V) string) (V, error) {
	var v V
	if err := unmarshalStrict(data, &v); err != nil {
		return v, err
	}
	return v, putNew(m, name(v), v)
}

func putNew[V any](m map[string]V, key string, v V) error {
	if _, ok := m[key]; ok {
		return fmt.Errorf("%q appears twice", key)
	}
	m[key] = v
	return nil
}
