package dmyaml

import (
	"bytes"
	"fmt"
	"math"

	"gopkg.in/yaml.v3"

	"github.com/dm-oss/dm/restapi"
)

// SourceFile is a DM source.yaml: the API's source and what the API keeps elsewhere.
type SourceFile struct {
	Source restapi.Source
	// EnableRelay is enable-relay: after creating the source, the caller starts its relay log
	// (on the bound worker) from RelayBinlogName / RelayBinlogGTID when given.
	EnableRelay     bool
	RelayBinlogName string
	RelayBinlogGTID string
	// RelayDir is the deprecated relay-dir (the worker's own relay-dir wins in DM ≥ v6.1).
	RelayDir string
}

// ParseSource reads a DM source.yaml. Unknown keys are errors naming their line; keys DM has
// that do nothing here come back as warnings; keys whose loss would change which data moves
// (binlog event filters) are errors. See the package doc for the mapping.
func ParseSource(data []byte, opts Options) (SourceFile, []Warning, error) {
	r := &reader{}
	root := r.document(data, "source file")
	if root == nil {
		return SourceFile{}, r.warnings, r.err("source file")
	}
	f := readSource(root, opts)
	root.finish()
	if err := r.err("source file"); err != nil {
		return SourceFile{}, r.warnings, err
	}
	return f, r.warnings, nil
}

func readSource(root *mapping, opts Options) SourceFile {
	var f SourceFile
	src := &f.Source
	if id, ok := root.str("source-id"); !ok {
		root.r.fail(nil, "source-id", "is required")
	} else if !restapi.ValidSourceName(id) {
		root.r.fail(root.keyNode("source-id"), "source-id", "%q must be 1-%d letters, digits, '_', '-' or '.', not starting with '.' or '-'", id, restapi.MaxSourceNameLen)
	} else {
		src.SourceName = id
	}
	if gtid, ok := root.boolean("enable-gtid"); ok {
		src.EnableGtid = &gtid
	}
	f.EnableRelay, _ = root.boolean("enable-relay")
	f.RelayBinlogName, _ = root.str("relay-binlog-name")
	f.RelayBinlogGTID, _ = root.str("relay-binlog-gtid")
	if dir, ok := root.str("relay-dir"); ok {
		f.RelayDir = dir
		root.r.warn(root.keyNode("relay-dir"), "relay-dir", "is deprecated: the worker's relay-dir is used when it has one")
	}
	readFrom(root, opts, src)
	src.Purge = readPurge(root.child("purge"))
	readSourceExtras(root)
	return f
}

func readFrom(root *mapping, opts Options, src *restapi.Source) {
	from := root.child("from")
	if from == nil {
		root.r.fail(nil, "from", "is required (host, port, user and password of the upstream)")
		return
	}
	src.Host, _ = from.str("host")
	if src.Host == "" {
		from.r.fail(from.keyNode("host"), from.sub("host"), "is required")
	}
	if port, ok := from.integer("port", 1, 65535); ok {
		src.Port = int(port)
	} else if !from.has("port") {
		from.r.fail(nil, from.sub("port"), "is required")
	}
	src.User, _ = from.str("user")
	if src.User == "" {
		from.r.fail(from.keyNode("user"), from.sub("user"), "is required")
	}
	pwd, _ := from.str("password")
	src.Password = opts.password(from.r, from.keyNode("password"), from.sub("password"), pwd)
	src.Security = opts.security(from.child("security"))
	from.ignore("max-allowed-packet", "is deprecated and has no effect: the driver reads the server's value")
	if from.has("session") {
		from.child("session").markAll()
		from.r.warn(from.keyNode("session"), from.sub("session"), "session variables of the upstream connection are not set here")
	}
	from.finish()
}

func readPurge(m *mapping) *restapi.Purge {
	if m == nil {
		return nil
	}
	p := &restapi.Purge{}
	for key, dst := range map[string]**int64{"interval": &p.Interval, "expires": &p.Expires, "remain-space": &p.RemainSpace} {
		if v, ok := m.integer(key, 0, math.MaxInt64); ok {
			*dst = &v
		}
	}
	m.finish()
	return p
}

// readSourceExtras reads the keys of source.yaml that the API has no field for.
func readSourceExtras(root *mapping) {
	if checker := root.child("checker"); checker != nil {
		for _, k := range []string{"check-enable", "backoff-rollback", "backoff-max", "check-interval", "backoff-min", "backoff-jitter", "backoff-factor"} {
			checker.ignore(k, "the task checker is not configurable here")
		}
		checker.finish()
	}
	if filters := root.value("filters"); filters != nil && (filters.Kind != yaml.SequenceNode || len(filters.Content) > 0) {
		root.r.fail(root.keyNode("filters"), "filters",
			"binlog event filters of a source are not supported, and dropping them would change what is replicated: move them into the filters of each task")
	}
	if cs, ok := root.boolean("case-sensitive"); ok && cs {
		root.r.warn(root.keyNode("case-sensitive"), "case-sensitive", "only applies to the source's filters, which are not supported")
	}
	if flavor, ok := root.str("flavor"); ok {
		switch flavor {
		case "", "mysql", "mariadb":
			root.r.warn(root.keyNode("flavor"), "flavor", "has no effect: the flavor is read from the upstream")
		default:
			root.r.fail(root.keyNode("flavor"), "flavor", "must be mysql or mariadb, not %q", flavor)
		}
	}
	root.ignore("server-id", "has no effect: the worker picks its replica server id")
	root.ignore("enable", "has no effect: a source is enabled once created")
	for _, k := range []string{"charset", "meta-dir", "auto-fix-gtid", "tracer"} {
		root.ignore(k, "is deprecated in DM and has no effect")
	}
}

// markAll marks every key of the mapping as read (a free-form map such as session).
func (m *mapping) markAll() {
	if m == nil {
		return
	}
	for _, k := range m.order {
		m.known[k] = true
	}
}

// SourceYAML writes the source as a DM source.yaml that ParseSource reads back into the same
// SourceFile. The password is written as the API model holds it ("******" in an answer of
// the API: a file to re-apply needs the real one put back).
func SourceYAML(f SourceFile) ([]byte, error) {
	s := f.Source
	out := sourceDoc{
		SourceID: s.SourceName, EnableGTID: s.EnableGtid, EnableRelay: f.EnableRelay,
		RelayBinlogName: f.RelayBinlogName, RelayBinlogGTID: f.RelayBinlogGTID, RelayDir: f.RelayDir,
		From: dbDoc{Host: s.Host, Port: s.Port, User: s.User, Password: s.Password, Security: securityDoc(s.Security)},
	}
	if p := s.Purge; p != nil {
		out.Purge = &purgeDoc{Interval: p.Interval, Expires: p.Expires, RemainSpace: p.RemainSpace}
	}
	return marshal(out)
}

type sourceDoc struct {
	SourceID        string    `yaml:"source-id"`
	EnableGTID      *bool     `yaml:"enable-gtid,omitempty"` // unset stays unset (found by FuzzSourceFile)
	EnableRelay     bool      `yaml:"enable-relay"`
	RelayBinlogName string    `yaml:"relay-binlog-name,omitempty"`
	RelayBinlogGTID string    `yaml:"relay-binlog-gtid,omitempty"`
	RelayDir        string    `yaml:"relay-dir,omitempty"`
	From            dbDoc     `yaml:"from"`
	Purge           *purgeDoc `yaml:"purge,omitempty"`
}

type dbDoc struct {
	Host     string  `yaml:"host"`
	Port     int     `yaml:"port"`
	User     string  `yaml:"user"`
	Password string  `yaml:"password"`
	Security *secDoc `yaml:"security,omitempty"`
}

type secDoc struct {
	SSLCA         string   `yaml:"ssl-ca-bytes,omitempty"`
	SSLCert       string   `yaml:"ssl-cert-bytes,omitempty"`
	SSLKey        string   `yaml:"ssl-key-bytes,omitempty"`
	CertAllowedCN []string `yaml:"cert-allowed-cn,omitempty"`
}

type purgeDoc struct {
	Interval    *int64 `yaml:"interval,omitempty"`
	Expires     *int64 `yaml:"expires,omitempty"`
	RemainSpace *int64 `yaml:"remain-space,omitempty"`
}

func securityDoc(s *restapi.Security) *secDoc {
	if s == nil || (s.SslCaContent == "" && s.SslCertContent == "" && s.SslKeyContent == "") {
		return nil
	}
	d := &secDoc{SSLCA: s.SslCaContent, SSLCert: s.SslCertContent, SSLKey: s.SslKeyContent}
	if s.CertAllowedCn != nil {
		d.CertAllowedCN = *s.CertAllowedCn
	}
	return d
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("write YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write YAML: %w", err)
	}
	return buf.Bytes(), nil
}
