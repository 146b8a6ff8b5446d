package membership

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Role tells masters from workers in the pool.
type Role string

// The two kinds of members.
const (
	RoleMaster Role = "master"
	RoleWorker Role = "worker"
)

// Meta is what a member advertises about itself. It travels in memberlist's node metadata,
// which is limited to 512 bytes, so keep it to addresses.
type Meta struct {
	Role     Role   `json:"role"`
	Name     string `json:"name"`
	APIAddr  string `json:"api,omitempty"`  // HTTP address (master API or worker status)
	PeerAddr string `json:"peer,omitempty"` // Raft transport address (masters only)
	// Leaving is set just before a graceful leave: memberlist reports failures and leaves
	// through the same callback, and this flag is what tells them apart.
	Leaving bool `json:"leaving,omitempty"`
}

// Member is one process in the pool.
type Member struct {
	Meta
	NodeName   string // unique per process run
	GossipAddr string
}

// EventType says what happened to a member.
type EventType string

// Event types delivered on Pool.Events.
const (
	EventJoin   EventType = "join"
	EventUpdate EventType = "update"
	EventFailed EventType = "failed" // lost without saying goodbye
	EventLeft   EventType = "left"   // left gracefully
)

// Event is a change of one member, delivered in order.
type Event struct {
	Type   EventType
	Member Member
}

// Config sets up a Pool.
type Config struct {
	Meta Meta
	// BindAddr is host:port to listen on; port 0 lets the OS choose and the chosen port is
	// advertised, so several nodes on one host never fight over a fixed port.
	BindAddr string
	// AdvertiseAddr overrides the advertised host:port (e.g. behind NAT). Optional.
	AdvertiseAddr string
	// ProbeInterval tunes failure detection; zero means one second.
	ProbeInterval time.Duration
	Logger        *slog.Logger
	// Key encrypts and authenticates every gossip packet and stream (memberlist's AES-GCM
	// keyring): a node without it is neither heard nor told anything. Nil: plain gossip (an open
	// cluster), unless Sealed.
	Key []byte
	// Sealed starts the pool under a random key known to nobody, so that it gossips with no one
	// until InstallKey gives it the cluster's (a member whose key arrives after start).
	Sealed bool
}

// Pool is this process's membership in the gossip pool.
type Pool struct {
	list *memberlist.Memberlist
	// keyring holds the gossip key (nil: plain gossip); memberlist reads it on every packet.
	keyring *memberlist.Keyring
	meta    []byte
	events  chan Event
	logger  *slog.Logger

	mu     sync.Mutex
	closed bool
	// leavers are nodes that said goodbye by a direct message before leaving: their leave is
	// graceful even when their last metadata update has not arrived.
	leavers map[string]bool
}

// eventBuffer bounds how far a slow consumer may lag before events are dropped; consumers
// re-read Members() periodically, so a dropped event only delays a reaction.
const eventBuffer = 1024

// Start creates the pool member and starts listening. It does not join anybody yet.
func Start(cfg Config) (*Pool, error) {
	if cfg.Meta.Name == "" || cfg.Meta.Role == "" {
		return nil, errors.New("membership: role and name are required")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	meta, err := json.Marshal(cfg.Meta)
	if err != nil {
		return nil, fmt.Errorf("membership: encode meta: %w", err)
	}
	if len(meta) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("membership: metadata is %d bytes, over memberlist's %d", len(meta), memberlist.MetaMaxSize)
	}
	host, port, err := splitHostPort(cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("membership: bind address %q: %w", cfg.BindAddr, err)
	}
	bootID := make([]byte, 4)
	if _, err := rand.Read(bootID); err != nil {
		return nil, fmt.Errorf("membership: boot id: %w", err)
	}

	keyring, err := newKeyring(cfg)
	if err != nil {
		return nil, err
	}
	p := &Pool{meta: meta, keyring: keyring, events: make(chan Event, eventBuffer), logger: logger}
	mc := memberlist.DefaultLocalConfig()
	mc.Name = fmt.Sprintf("%s/%s/%s", cfg.Meta.Role, cfg.Meta.Name, hex.EncodeToString(bootID))
	mc.BindAddr = host
	mc.BindPort = port
	mc.AdvertisePort = port
	if cfg.AdvertiseAddr != "" {
		ah, ap, err := splitHostPort(cfg.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("membership: advertise address %q: %w", cfg.AdvertiseAddr, err)
		}
		mc.AdvertiseAddr, mc.AdvertisePort = ah, ap
	}
	mc.ProbeInterval = time.Second
	if cfg.ProbeInterval > 0 {
		mc.ProbeInterval = cfg.ProbeInterval
	}
	mc.ProbeTimeout = mc.ProbeInterval / 2
	mc.SuspicionMult = 2
	mc.GossipInterval = 100 * time.Millisecond
	mc.PushPullInterval = 5 * time.Second
	// Dead members linger briefly so their departure reaches everyone, then go.
	mc.GossipToTheDeadTime = 10 * time.Second
	mc.Keyring = keyring
	mc.Delegate = p
	mc.Events = p
	mc.LogOutput = NewLogWriter(logger.With("component", "gossip"))

	list, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("membership: start gossip on %s: %w", cfg.BindAddr, err)
	}
	p.list = list
	return p, nil
}

// newKeyring is the pool's keyring: cfg.Key, a sealing key, or none (plain gossip).
func newKeyring(cfg Config) (*memberlist.Keyring, error) {
	key := cfg.Key
	if key == nil && cfg.Sealed {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("membership: sealing key: %w", err)
		}
	}
	if key == nil {
		return nil, nil
	}
	kr, err := memberlist.NewKeyring(nil, key)
	if err != nil {
		return nil, fmt.Errorf("membership: gossip key: %w", err)
	}
	return kr, nil
}

// InstallKey makes key the only gossip key: from now on the pool talks with the members that
// have it. It is how a sealed pool opens once the cluster's key is known; installing the key
// in use again changes nothing.
func (p *Pool) InstallKey(key []byte) error {
	kr := p.keyring
	if kr == nil {
		return errors.New("membership: the pool was started without encryption; a key cannot be installed")
	}
	if err := kr.AddKey(key); err != nil {
		return fmt.Errorf("membership: install gossip key: %w", err)
	}
	if err := kr.UseKey(key); err != nil {
		return fmt.Errorf("membership: install gossip key: %w", err)
	}
	for _, k := range kr.GetKeys() {
		if !bytes.Equal(k, key) {
			if err := kr.RemoveKey(k); err != nil {
				return fmt.Errorf("membership: drop the former gossip key: %w", err)
			}
		}
	}
	return nil
}

// HasKey reports whether key is the gossip key in use.
func (p *Pool) HasKey(key []byte) bool {
	kr := p.keyring
	return kr != nil && bytes.Equal(kr.GetPrimaryKey(), key)
}

func splitHostPort(addr string) (string, int, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", ps)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// Addr is the advertised gossip host:port others join through.
func (p *Pool) Addr() string {
	n := p.list.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// NodeName is this process's unique node name.
func (p *Pool) NodeName() string { return p.list.LocalNode().Name }

// Join contacts the given gossip addresses; it succeeds when at least one answered.
func (p *Pool) Join(seeds []string) (int, error) {
	if len(seeds) == 0 {
		return 0, nil
	}
	n, err := p.list.Join(seeds)
	if n > 0 {
		return n, nil
	}
	if err != nil {
		return 0, fmt.Errorf("membership: join %v: %w", seeds, err)
	}
	return 0, nil
}

// Knows reports whether a member with this gossip address is currently alive in the pool.
func (p *Pool) Knows(gossipAddr string) bool {
	for _, m := range p.Members() {
		if m.GossipAddr == gossipAddr {
			return true
		}
	}
	return false
}

// Members returns every live member (suspects included: they may still answer), this process
// included.
func (p *Pool) Members() []Member {
	nodes := p.list.Members()
	out := make([]Member, 0, len(nodes))
	for _, n := range nodes {
		if m, ok := toMember(n); ok {
			out = append(out, m)
		}
	}
	return out
}

// Alive reports whether some process with this role and name is alive in the pool.
func (p *Pool) Alive(role Role, name string) (Member, bool) {
	for _, m := range p.Members() {
		if m.Role == role && m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// Events delivers joins, updates, failures and leaves in order.
func (p *Pool) Events() <-chan Event { return p.events }

// Leave tells the pool this process is going away on purpose, then stops gossiping.
func (p *Pool) Leave(timeout time.Duration) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var meta Meta
	if err := json.Unmarshal(p.meta, &meta); err == nil {
		meta.Leaving = true
		if b, err := json.Marshal(meta); err == nil {
			p.meta = b
		}
	}
	p.mu.Unlock()
	// A direct (TCP) goodbye to every member first, because gossip may not spread the
	// metadata update before the leave itself under load; then the update, for members that
	// join the news later.
	p.sayGoodbye(timeout / 2)
	// Best effort: if neither gets through in time, peers see a failure instead.
	if err := p.list.UpdateNode(timeout / 2); err != nil {
		p.logger.Warn("could not announce leaving", "err", err)
	}
	err := p.list.Leave(timeout)
	if serr := p.list.Shutdown(); err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("membership: leave: %w", err)
	}
	return nil
}

// Shutdown stops gossiping without a goodbye (others will see a failure).
func (p *Pool) Shutdown() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if err := p.list.Shutdown(); err != nil {
		return fmt.Errorf("membership: shutdown: %w", err)
	}
	return nil
}

func toMember(n *memberlist.Node) (Member, bool) {
	var meta Meta
	if err := json.Unmarshal(n.Meta, &meta); err != nil || meta.Name == "" {
		return Member{}, false
	}
	return Member{
		Meta:       meta,
		NodeName:   n.Name,
		GossipAddr: net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port))),
	}, true
}

func (p *Pool) emit(t EventType, n *memberlist.Node) {
	m, ok := toMember(n)
	if !ok {
		return
	}
	select {
	case p.events <- Event{Type: t, Member: m}:
	default:
		p.logger.Warn("membership event dropped: consumer too slow", "event", t, "member", m.NodeName)
	}
}

// NotifyJoin implements memberlist.EventDelegate.
func (p *Pool) NotifyJoin(n *memberlist.Node) { p.emit(EventJoin, n) }

// NotifyUpdate implements memberlist.EventDelegate.
func (p *Pool) NotifyUpdate(n *memberlist.Node) { p.emit(EventUpdate, n) }

// NotifyLeave implements memberlist.EventDelegate; memberlist calls it for failures and for
// graceful leaves alike, so the goodbye message or the Leaving flag in the last metadata
// tells them apart.
func (p *Pool) NotifyLeave(n *memberlist.Node) {
	p.mu.Lock()
	said := p.leavers[n.Name]
	delete(p.leavers, n.Name)
	p.mu.Unlock()
	if m, ok := toMember(n); ok && (m.Leaving || said) {
		p.emit(EventLeft, n)
		return
	}
	p.emit(EventFailed, n)
}

// goodbyePrefix starts the user message a leaving node sends to every member.
const goodbyePrefix = "dm-goodbye:"

// sayGoodbye sends the goodbye message to every other live member, in parallel, for at most
// timeout.
func (p *Pool) sayGoodbye(timeout time.Duration) {
	self := p.list.LocalNode().Name
	msg := []byte(goodbyePrefix + self)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, n := range p.list.Members() {
		if n.Name == self {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.list.SendReliable(n, msg); err != nil {
				p.logger.Debug("goodbye not delivered", "to", n.Name, "err", err)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		p.logger.Warn("goodbye not delivered to every member in time", "timeout", timeout)
	}
}

// NodeMeta implements memberlist.Delegate.
func (p *Pool) NodeMeta(limit int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.meta
}

// NotifyMsg implements memberlist.Delegate: the only user message is a member's goodbye.
func (p *Pool) NotifyMsg(b []byte) {
	name, ok := strings.CutPrefix(string(b), goodbyePrefix)
	if !ok || name == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leavers == nil {
		p.leavers = map[string]bool{}
	}
	p.leavers[name] = true
}

// GetBroadcasts implements memberlist.Delegate.
func (p *Pool) GetBroadcasts(overhead, limit int) [][]byte { return nil }

// LocalState implements memberlist.Delegate.
func (p *Pool) LocalState(join bool) []byte { return nil }

// MergeRemoteState implements memberlist.Delegate.
func (p *Pool) MergeRemoteState(buf []byte, join bool) {}
