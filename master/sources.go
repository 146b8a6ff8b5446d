package master

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/dm-oss/dm/binlog/upstream"
	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/apierr"
	"github.com/dm-oss/dm/worker/settings"
)

// maskedPassword replaces every password in every answer.
const maskedPassword = "******"

// upstreamTimeout bounds every check against an upstream database.
const upstreamTimeout = 10 * time.Second

func badRequest(code fsm.Code, format string, args ...any) error {
	return restapi.Errorf(http.StatusBadRequest, code, format, args...)
}

// validateSource checks the body before anything touches a database.
func validateSource(src restapi.Source) error {
	var problems []string
	// Safe in URL paths and file names (relay and dump directories are named after the source).
	if !restapi.ValidSourceName(src.SourceName) {
		problems = append(problems, fmt.Sprintf("source_name %q must be 1-%d letters, digits, '_', '-' or '.', not starting with '.' or '-'",
			apierr.Clip(src.SourceName), restapi.MaxSourceNameLen))
	}
	if strings.TrimSpace(src.Host) == "" {
		problems = append(problems, "host is required")
	}
	if src.Port < 1 || src.Port > 65535 {
		problems = append(problems, fmt.Sprintf("port %d is out of range 1-65535", src.Port))
	}
	if src.User == "" {
		problems = append(problems, "user is required")
	}
	if p := src.Purge; p != nil {
		for name, v := range map[string]*int64{"purge.interval": p.Interval, "purge.expires": p.Expires, "purge.remain_space": p.RemainSpace} {
			if v != nil && *v < 0 {
				problems = append(problems, name+" must not be negative")
			}
		}
		if p.Interval != nil && *p.Interval == 0 {
			problems = append(problems, "purge.interval must be positive")
		}
	}
	if sec := src.Security; sec != nil {
		if (sec.SslCertContent == "") != (sec.SslKeyContent == "") {
			problems = append(problems, "security.ssl_cert_content and security.ssl_key_content go together")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return badRequest(fsm.CodeRequestInvalid, "invalid source: %s", strings.Join(problems, "; "))
	}
	return nil
}

func upstreamConfig(src restapi.Source) upstream.Config {
	c := upstream.Config{Host: src.Host, Port: src.Port, User: src.User, Password: src.Password, ConnectTimeout: 5 * time.Second}
	if sec := src.Security; sec != nil {
		c.SSLCA, c.SSLCert, c.SSLKey = sec.SslCaContent, sec.SslCertContent, sec.SslKeyContent
		if sec.CertAllowedCn != nil {
			c.CertAllowedCN = *sec.CertAllowedCn
		}
	}
	return c
}

// CreateSource validates the body, checks the upstream (reachable, binlog ROW/FULL, server_id,
// privileges), then stores the source with its secrets encrypted.
func (s *Server) CreateSource(ctx context.Context, src restapi.Source) (restapi.Source, error) {
	if err := validateSource(src); err != nil {
		return restapi.Source{}, err
	}
	if _, ok := s.state.Source(src.SourceName); ok {
		return restapi.Source{}, badRequest(fsm.CodeSourceExist, "source %q already exists", src.SourceName)
	}
	info, err := checkUpstream(ctx, src)
	if err != nil {
		return restapi.Source{}, err
	}
	spec, err := s.sourceSpec(ctx, src, info)
	if err != nil {
		return restapi.Source{}, err
	}
	if _, err := s.apply(ctx, fsm.AddSource{Source: fsm.Source{Name: src.SourceName, Spec: spec}}); err != nil {
		return restapi.Source{}, err
	}
	s.logger.Info("source created", "source", src.SourceName, "host", src.Host, "port", src.Port, "flavor", info.Flavor, "server_id", info.ServerID)
	// Bound before the answer when a worker is free, as in DM: a task can be created right
	// after its source.
	s.schedule(ctx)
	return sourceView(fsm.Source{Name: src.SourceName, Spec: spec}), nil
}

// checkUpstream connects to the source's upstream and checks that it can be replicated from
// (binlog ROW/FULL, server_id, privileges, GTID when asked for); it returns what it found.
func checkUpstream(ctx context.Context, src restapi.Source) (upstream.Info, error) {
	cctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	db, err := upstream.Open(cctx, upstreamConfig(src))
	if err != nil {
		return upstream.Info{}, badRequest(fsm.CodeDBDriver, "source %q: %v", src.SourceName, err)
	}
	defer db.Close()
	info, err := upstream.Inspect(cctx, db)
	if err != nil {
		return upstream.Info{}, badRequest(fsm.CodeDBDriver, "source %q: inspect the upstream: %v", src.SourceName, err)
	}
	problems, err := upstream.CheckSource(cctx, db, info, gtidEnabled(src))
	if err != nil {
		return upstream.Info{}, badRequest(fsm.CodeDBDriver, "source %q: check the upstream: %v", src.SourceName, err)
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Message
		}
		return upstream.Info{}, badRequest(fsm.CodeCheckFail, "source %q cannot be used for replication: %s", src.SourceName, strings.Join(msgs, "; "))
	}
	return info, nil
}

// gtidEnabled is enable_gtid with its documented default, false.
func gtidEnabled(src restapi.Source) bool { return src.EnableGtid != nil && *src.EnableGtid }

// defaultPurge is DM's relay-log purge policy: every 3600 s, never by age, keep 15 GB free.
func defaultPurge() fsm.PurgeSpec { return fsm.PurgeSpec{Interval: 3600, Expires: 0, RemainSpace: 15} }

// sourceSpec is the spec of a new source, its secrets encrypted.
func (s *Server) sourceSpec(ctx context.Context, src restapi.Source, info upstream.Info) (fsm.SourceSpec, error) {
	c, err := s.cipher(ctx)
	if err != nil {
		return fsm.SourceSpec{}, err
	}
	pwd, err := c.Encrypt(src.Password)
	if err != nil {
		return fsm.SourceSpec{}, fmt.Errorf("encrypt password: %w", err)
	}
	st := fsm.SourceSpec{
		Version: fsm.SourceSpecVersion, Host: src.Host, Port: src.Port, User: src.User, PasswordEnc: pwd, EnableGTID: gtidEnabled(src),
		Purge: defaultPurge(), Flavor: string(info.Flavor), ServerID: info.ServerID,
	}
	if p := src.Purge; p != nil {
		if p.Interval != nil {
			st.Purge.Interval = *p.Interval
		}
		if p.Expires != nil {
			st.Purge.Expires = *p.Expires
		}
		if p.RemainSpace != nil {
			st.Purge.RemainSpace = *p.RemainSpace
		}
	}
	if sec := src.Security; sec != nil && (sec.SslCaContent != "" || sec.SslCertContent != "") {
		key, err := c.Encrypt(sec.SslKeyContent)
		if err != nil {
			return fsm.SourceSpec{}, fmt.Errorf("encrypt TLS key: %w", err)
		}
		st.Security = &fsm.TLSSpec{SSLCA: sec.SslCaContent, SSLCert: sec.SslCertContent, SSLKeyEnc: key}
		if sec.CertAllowedCn != nil {
			st.Security.CertAllowedCN = *sec.CertAllowedCn
		}
	}
	return st, nil
}

// sourceView is the API form of a source: password masked, TLS contents left out.
func sourceView(src fsm.Source) restapi.Source {
	st := src.Spec
	interval, expires, remain := st.Purge.Interval, st.Purge.Expires, st.Purge.RemainSpace
	gtid := st.EnableGTID
	out := restapi.Source{
		SourceName: src.Name, Host: st.Host, Port: st.Port, User: st.User, Password: maskedPassword,
		EnableGtid: &gtid,
		Purge:      &restapi.Purge{Interval: &interval, Expires: &expires, RemainSpace: &remain},
	}
	if st.Security != nil {
		cn := append([]string{}, st.Security.CertAllowedCN...)
		out.Security = &restapi.Security{CertAllowedCn: &cn}
	}
	return out
}

func (s *Server) loadSource(name string) (fsm.Source, error) {
	src, ok := s.state.Source(name)
	if !ok {
		return fsm.Source{}, badRequest(fsm.CodeSourceNotExist, "source %q does not exist", name)
	}
	return src, nil
}

// ListSources lists every source, sorted and masked.
func (s *Server) ListSources(ctx context.Context, withStatus bool) ([]restapi.Source, error) {
	var out []restapi.Source
	for _, src := range s.state.Sources() {
		view := sourceView(src)
		if withStatus {
			list, err := s.SourceStatus(ctx, src.Name)
			if err != nil {
				return nil, err
			}
			view.StatusList = &list
		}
		out = append(out, view)
	}
	return out, nil
}

// DeleteSource removes a source. Tasks using it block the deletion unless force, which stops
// this source's subtasks first; relay workers always block it (stop relay first).
func (s *Server) DeleteSource(ctx context.Context, name string, force bool) error {
	if _, ok := s.state.Source(name); !ok {
		return badRequest(fsm.CodeSourceNotExist, "source %q does not exist", name)
	}
	if r, ok := s.state.Relay(name); ok && len(r.Workers) > 0 {
		return badRequest(fsm.CodeSourceHasRelayWorkers, "source %q still has relay workers %s: stop relay first", name, strings.Join(r.Workers, ", "))
	}
	tasks := s.state.TasksOfSource(name)
	if len(tasks) > 0 && !force {
		return badRequest(fsm.CodeSourceHasTasks, "source %q is used by task(s) %s: stop them first, or delete with force=true", name, strings.Join(tasks, ", "))
	}
	for _, task := range tasks {
		if _, err := s.apply(ctx, fsm.DeleteSubtasks{Task: task, Sources: []string{name}}); err != nil {
			return badRequest(fsm.CodeOpenAPICommon, "failed to stop the subtask of task %q on source %q: %v", task, name, err)
		}
	}
	if _, err := s.apply(ctx, fsm.DeleteSource{Name: name}); err != nil {
		return err
	}
	s.logger.Info("source deleted", "source", name, "force", force)
	s.wakeScheduler()
	return nil
}

// SourceStatus asks each worker serving the source (bound or relay) for its report.
func (s *Server) SourceStatus(ctx context.Context, name string) ([]restapi.SourceStatus, error) {
	if _, ok := s.state.Source(name); !ok {
		return nil, badRequest(fsm.CodeSourceNotExist, "source %q does not exist", name)
	}
	var workers []string
	if w, ok := s.state.BoundWorker(name); ok {
		workers = append(workers, w)
	}
	if r, ok := s.state.Relay(name); ok {
		for _, w := range r.Workers {
			if len(workers) == 0 || workers[0] != w {
				workers = append(workers, w)
			}
		}
	}
	if len(workers) == 0 {
		return []restapi.SourceStatus{{SourceName: name, WorkerName: ""}}, nil
	}
	out := make([]restapi.SourceStatus, len(workers))
	for i, wname := range workers {
		out[i] = s.workerSourceStatus(ctx, wname, name)
	}
	return out, nil
}

// workerSourceStatus asks one worker how it serves the source: the relay it pulls, or why it
// cannot serve it.
func (s *Server) workerSourceStatus(ctx context.Context, worker, source string) restapi.SourceStatus {
	out := restapi.SourceStatus{SourceName: source, WorkerName: worker}
	fail := func(format string, args ...any) restapi.SourceStatus {
		msg := fmt.Sprintf(format, args...)
		out.ErrorMsg = &msg
		return out
	}
	st, err := s.fetchWorkerStatus(ctx, worker)
	if err != nil {
		return fail("%v", err)
	}
	if r := st.Relay; r != nil && r.Source == source {
		rs := restapi.RelayStatus(r.Status)
		out.RelayStatus = &rs
		if r.Error != "" {
			return fail("relay: %s", r.Error)
		}
	}
	if bound, _ := s.state.BoundWorker(source); bound == worker {
		if st.BoundSource != source {
			return fail("worker %q has not opened source %q yet", worker, source)
		}
		if st.SourceError != "" {
			return fail("%s", st.SourceError)
		}
	}
	return out
}

// TransferSource moves a source to another worker. The target must be online and free (or
// relaying this very source), and no task may be running on the source.
func (s *Server) TransferSource(ctx context.Context, name, worker string) error {
	if _, ok := s.state.Source(name); !ok {
		return badRequest(fsm.CodeSourceNotExist, "source %q does not exist", name)
	}
	w, ok := s.state.Worker(worker)
	if !ok {
		return badRequest(fsm.CodeWorkerNotExist, "worker %q does not exist", worker)
	}
	if cur, ok := s.state.BoundWorker(name); ok && cur == worker {
		return nil
	}
	if !s.live.online(w) {
		return badRequest(fsm.CodeWorkerInvalidTrans, "worker %q is offline and cannot take source %q", worker, name)
	}
	if other, ok := s.state.BoundSource(worker); ok {
		return badRequest(fsm.CodeWorkerInvalidTrans, "worker %q is already bound to source %q", worker, other)
	}
	if relay, ok := s.state.RelaySourceOf(worker); ok && relay != name {
		return badRequest(fsm.CodeBoundDiffWithRelay, "worker %q pulls relay log for source %q and cannot be bound to %q", worker, relay, name)
	}
	for _, tname := range s.state.TasksOfSource(name) {
		if t, ok := s.state.Task(tname); ok {
			if st := t.Subtasks[name]; st != nil && st.Stage == fsm.StageRunning {
				return badRequest(fsm.CodeRequireNotRunning, "task %q is running on source %q: pause it before the transfer", tname, name)
			}
		}
	}
	if _, err := s.apply(ctx, fsm.BindSource{Source: name, Worker: worker, Rebind: true}); err != nil {
		return err
	}
	s.logger.Info("source transferred", "source", name, "worker", worker)
	return nil
}

// openUpstream connects to a stored source with its decrypted credentials.
func (s *Server) openUpstream(ctx context.Context, name string) (*sql.DB, error) {
	src, err := s.loadSource(name)
	if err != nil {
		return nil, err
	}
	c, err := s.cipher(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := settings.Upstream(src.Spec, c)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", name, err)
	}
	db, err := upstream.Open(ctx, cfg)
	if err != nil {
		return nil, badRequest(fsm.CodeDBDriver, "source %q: %v", name, err)
	}
	return db, nil
}

// SourceSchemas lists the upstream's user schemas.
func (s *Server) SourceSchemas(ctx context.Context, name string) ([]string, error) {
	cctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	db, err := s.openUpstream(cctx, name)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	names, err := upstream.ListSchemas(cctx, db)
	if err != nil {
		return nil, badRequest(fsm.CodeDBDriver, "source %q: %v", name, err)
	}
	return names, nil
}

// SourceTables lists the tables of one upstream schema.
func (s *Server) SourceTables(ctx context.Context, name, schema string) ([]string, error) {
	cctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	db, err := s.openUpstream(cctx, name)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	names, err := upstream.ListTables(cctx, db, schema)
	if errors.Is(err, upstream.ErrSchemaNotFound) {
		return nil, badRequest(fsm.CodeOpenAPICommon, "schema %q does not exist in source %q", schema, name)
	}
	if err != nil {
		return nil, badRequest(fsm.CodeDBDriver, "source %q: %v", name, err)
	}
	return names, nil
}
