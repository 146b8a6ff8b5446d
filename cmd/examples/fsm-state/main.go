// Command fsm-state shows dm's replicated state machine on its own: it applies a few commands
// (as Raft would, each an encoded log entry with its index), shows a command the state refuses
// with DM's error code, and writes a snapshot; with -restore it reads a snapshot back into a
// fresh state machine. Both print the state the same way, so the two outputs match.
//
//	fsm-state -snapshot /tmp/state.snap
//	fsm-state -restore /tmp/state.snap
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/dm-oss/dm/fsm"
)

func main() {
	snapshot := flag.String("snapshot", "", "apply the commands and write a snapshot to this file")
	restore := flag.String("restore", "", "read a snapshot from this file instead")
	flag.Parse()
	var f *fsm.FSM
	var err error
	switch {
	case *restore != "":
		f, err = restoreFrom(*restore)
	case *snapshot != "":
		f, err = applyAll()
		if err == nil {
			err = snapshotTo(f, *snapshot)
		}
	default:
		err = fmt.Errorf("give -snapshot or -restore")
	}
	if err == nil {
		err = printState(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsm-state:", err)
		os.Exit(1)
	}
}

// applyAll applies the commands a small cluster's life would log.
func applyAll() (*fsm.FSM, error) {
	f := fsm.New()
	source := fsm.SourceSpec{Version: fsm.SourceSpecVersion, Host: "10.0.0.9", Port: 3306, User: "dm", EnableGTID: true}
	commands := []fsm.Command{
		fsm.RegisterMaster{Name: "m1", APIAddr: "10.0.0.1:8261", PeerAddr: "10.0.0.1:8291"},
		fsm.RegisterWorker{Name: "w1", Addr: "10.0.0.5:8262", KeepaliveTTL: 60, RelayKeepaliveTTL: 1800},
		fsm.AddSource{Source: fsm.Source{Name: "mysql-01", Spec: source}},
		fsm.BindSource{Source: "mysql-01", Worker: "w1"},
		fsm.BindSource{Source: "mysql-02", Worker: "w1"}, // no such source: refused
	}
	for i, c := range commands {
		entry, err := fsm.Encode(c)
		if err != nil {
			return nil, err
		}
		if err := f.Apply(uint64(i+1), entry); err != nil {
			code, _ := fsm.CodeOf(err)
			fmt.Fprintf(os.Stderr, "entry %d refused (code %d): %v\n", i+1, code, err)
		}
	}
	return f, nil
}

func snapshotTo(f *fsm.FSM, path string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Snapshot().WriteTo(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func restoreFrom(path string) (*fsm.FSM, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	f := fsm.New()
	return f, f.Restore(in)
}

// printState prints the state as one JSON object.
func printState(f *fsm.FSM) error {
	var sources []string
	for _, s := range f.Sources() {
		sources = append(sources, fmt.Sprintf("%s@%s:%d", s.Name, s.Spec.Host, s.Spec.Port))
	}
	var workers []string
	for _, w := range f.Workers() {
		workers = append(workers, w.Name)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"index": f.Index(), "masters": len(f.Masters()), "workers": workers, "sources": sources, "bindings": f.Bindings(),
	})
}
