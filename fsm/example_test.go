package fsm_test

import (
	"bytes"
	"fmt"

	"github.com/dm-oss/dm/fsm"
)

// Applying commands as Raft would, a refusal with DM's code, and a snapshot restored into a
// fresh state machine.
func Example() {
	f := fsm.New()
	apply := func(index uint64, c fsm.Command) {
		entry, err := fsm.Encode(c)
		if err == nil {
			err = f.Apply(index, entry)
		}
		if code, ok := fsm.CodeOf(err); ok {
			fmt.Printf("entry %d refused: %d %v\n", index, code, err)
		}
	}
	apply(1, fsm.RegisterWorker{Name: "w1", Addr: "10.0.0.5:8262", KeepaliveTTL: 60})
	apply(2, fsm.AddSource{Source: fsm.Source{Name: "mysql-01",
		Spec: fsm.SourceSpec{Version: fsm.SourceSpecVersion, Host: "10.0.0.9", Port: 3306, User: "dm"}}})
	apply(3, fsm.BindSource{Source: "mysql-01", Worker: "w1"})
	apply(4, fsm.BindSource{Source: "mysql-02", Worker: "w1"})

	var snap bytes.Buffer
	if _, err := f.Snapshot().WriteTo(&snap); err != nil {
		fmt.Println(err)
	}
	restored := fsm.New()
	if err := restored.Restore(&snap); err != nil {
		fmt.Println(err)
	}
	fmt.Println(restored.Index(), restored.Bindings())
	// Output:
	// entry 4 refused: 46008 source "mysql-02" does not exist
	// 4 map[mysql-01:w1]
}
