package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// NetLab puts processes in network namespaces of their own (Linux, root), so that a test can
// cut one off from chosen addresses while the rest of the network goes on. Every namespace has
// a veth pair whose root end is enslaved to the lab's bridge: the namespaces share one /24
// (10.x.0.<n>, the bridge 10.x.0.254), so they reach each other through the bridge without IP
// forwarding (left as the host has it), and reach every address of the root namespace through
// their default route to the bridge; the root namespace (the test) reaches each at its Addr.
// Servers every namespace must reach (the databases) bind LocalAddr, an address on the root
// namespace's loopback. Cut adds blackhole routes inside a namespace: packets to those
// addresses are dropped on the way out, which breaks connections both ways (nothing comes
// back), and Heal removes them.
//
// Names carry the test process's pid (namespaces "dmlab-<pid>-<name>", interfaces
// "dl<pid base 36>..."), and NewNetLab first removes what processes that no longer run left
// behind.
type NetLab struct {
	t      testing.TB
	tag    string // the pid in base 36
	octet  int    // second octet of the 10.x.0.0/16 the lab uses
	mu     sync.Mutex
	bridge string
	spaces []*NetNS
	local  string
}

// NetNS is one namespace of a NetLab.
type NetNS struct {
	Name string
	// Addr is the namespace's own address.
	Addr string
	lab  *NetLab
	cut  map[string]bool
}

const netLabPrefix = "dmlab-"

// NewNetLab checks that namespaces can be made (root, ip) and registers a cleanup removing
// every namespace and address it creates.
func NewNetLab(t testing.TB) *NetLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("integration: network namespaces need root (uid %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("integration: network namespaces need iproute2's ip: %v", err)
	}
	sweepNetLabs()
	pid := os.Getpid()
	l := &NetLab{t: t, tag: strconv.FormatInt(int64(pid), 36), octet: 100 + pid%100}
	t.Cleanup(l.remove)
	return l
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (l *NetLab) must(args ...string) {
	l.t.Helper()
	if err := ipCmd(args...); err != nil {
		l.t.Fatalf("integration: %v", err)
	}
}

// LocalAddr is an address of the root namespace (on its loopback, labelled with the lab's
// tag) that every namespace reaches: bind the servers they all use there.
func (l *NetLab) LocalAddr() string {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.local == "" {
		addr := fmt.Sprintf("10.%d.250.1", l.octet)
		l.must("addr", "add", addr+"/32", "dev", "lo", "label", "lo:dl"+l.tag)
		l.local = addr
	}
	return l.local
}

// Namespace creates a namespace named after name, its veth pair and routes.
func (l *NetLab) Namespace(name string) *NetNS {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	gateway := fmt.Sprintf("10.%d.0.254", l.octet)
	if l.bridge == "" {
		l.bridge = "dl" + l.tag + "br"
		l.must("link", "add", l.bridge, "type", "bridge")
		l.must("addr", "add", gateway+"/24", "dev", l.bridge)
		l.must("link", "set", l.bridge, "up")
	}
	i := len(l.spaces) + 1
	if i > 200 {
		l.t.Fatalf("integration: a NetLab holds at most 200 namespaces")
	}
	n := &NetNS{
		Name: fmt.Sprintf("%s%d-%s", netLabPrefix, os.Getpid(), name),
		Addr: fmt.Sprintf("10.%d.0.%d", l.octet, i),
		lab:  l, cut: map[string]bool{},
	}
	l.spaces = append(l.spaces, n)
	root, inside := fmt.Sprintf("dl%sx%dr", l.tag, i), fmt.Sprintf("dl%sx%dn", l.tag, i)
	l.must("netns", "add", n.Name)
	l.must("link", "add", root, "type", "veth", "peer", "name", inside)
	l.must("link", "set", inside, "netns", n.Name)
	l.must("link", "set", root, "master", l.bridge)
	l.must("link", "set", root, "up")
	for _, args := range [][]string{
		{"addr", "add", n.Addr + "/24", "dev", inside},
		{"link", "set", inside, "up"},
		{"link", "set", "lo", "up"},
		{"route", "add", "default", "via", gateway},
	} {
		l.must(append([]string{"netns", "exec", n.Name, "ip"}, args...)...)
	}
	return n
}

// Exec is the command prefix that runs a process inside the namespace.
func (n *NetNS) Exec() []string { return []string{"ip", "netns", "exec", n.Name} }

// Cut drops every packet the namespace sends to addrs (blackhole routes).
func (n *NetNS) Cut(addrs ...string) {
	n.lab.t.Helper()
	for _, a := range addrs {
		if !n.cut[a] {
			n.lab.must("netns", "exec", n.Name, "ip", "route", "add", "blackhole", a+"/32")
			n.cut[a] = true
		}
	}
}

// Heal removes every route Cut added.
func (n *NetNS) Heal() {
	n.lab.t.Helper()
	for a := range n.cut {
		n.lab.must("netns", "exec", n.Name, "ip", "route", "del", "blackhole", a+"/32")
		delete(n.cut, a)
	}
}

// remove deletes the lab's namespaces (their veth pairs go with them), bridge and address.
func (l *NetLab) remove() {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, n := range l.spaces {
		errs = append(errs, ipCmd("netns", "del", n.Name))
	}
	if l.bridge != "" {
		errs = append(errs, ipCmd("link", "del", l.bridge))
	}
	if l.local != "" {
		errs = append(errs, ipCmd("addr", "del", l.local+"/32", "dev", "lo"))
	}
	if err := errors.Join(errs...); err != nil {
		l.t.Errorf("integration: remove the network lab: %v", err)
	}
}

// sweepNetLabs removes the namespaces, bridges and loopback addresses of labs whose process is
// gone.
func sweepNetLabs() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, netLabPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		if pid, err := strconv.Atoi(pidText); err == nil && processGone(pid) {
			_ = ipCmd("netns", "del", name)
		}
	}
	out, _ = exec.Command("ip", "-o", "link", "show", "type", "bridge").Output()
	for _, line := range strings.Split(string(out), "\n") {
		// "12: dl<tag>br: <BROADCAST,...> ..."
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name := strings.TrimSuffix(f[1], ":")
		tag, ok := strings.CutPrefix(name, "dl")
		if tag, found := strings.CutSuffix(tag, "br"); ok && found && tag != "" {
			if pid, err := strconv.ParseInt(tag, 36, 64); err == nil && processGone(int(pid)) {
				_ = ipCmd("link", "del", name)
			}
		}
	}
	out, _ = exec.Command("ip", "-o", "-4", "addr", "show", "dev", "lo").Output()
	// Lines look like "1: lo    inet 10.x.250.1/32 scope host lo:dl<tag>\ valid_lft ...".
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[2] != "inet" {
			continue
		}
		for _, field := range f[4:] {
			tag, ok := strings.CutPrefix(strings.TrimSuffix(field, "\\"), "lo:dl")
			if !ok || tag == "" {
				continue
			}
			if pid, err := strconv.ParseInt(tag, 36, 64); err == nil && processGone(int(pid)) {
				_ = ipCmd("addr", "del", f[3], "dev", "lo")
			}
		}
	}
}

func processGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }
