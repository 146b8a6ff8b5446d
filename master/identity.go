package master

import (
	"fmt"
	"net/http"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/peer"
)

// isMaster reports whether name is a master: in the Raft configuration or recorded in the FSM.
func (s *Server) isMaster(name string) bool {
	if _, ok := s.state.Master(name); ok {
		return true
	}
	members, err := s.store.Members()
	if err != nil {
		return false
	}
	for _, m := range members {
		if m.ID == name {
			return true
		}
	}
	return false
}

// memberNamed reports whether name is a master's or a worker's.
func (s *Server) memberNamed(name string) bool {
	if _, ok := s.state.Worker(name); ok {
		return true
	}
	return s.isMaster(name)
}

// trustForwarder says whether a caller may vouch for the certificate of the member whose request
// it forwards to the leader: a master may, and so may a certificate the members share (its CN
// names no member), which proves no more than membership in the first place.
func (s *Server) trustForwarder(id security.Identity) bool {
	return s.isMaster(id.CN) || !s.memberNamed(id.CN)
}

// mayActAs refuses (403) an internal request whose caller may not write member name's records:
// a member registers, joins, reads and reports as itself only (security.Identity.MayActAs).
func (s *Server) mayActAs(r *http.Request, name string) error {
	id, ok := peer.Identity(r.Context())
	if !ok {
		return restapi.Errorf(http.StatusInternalServerError, fsm.CodeInternal, "internal route %s is not behind the member authentication (a bug)", r.URL.Path)
	}
	if err := id.MayActAs(name, s.memberNamed); err != nil {
		s.logger.Warn("internal request refused", "path", r.URL.Path, "caller", id.String(), "err", err)
		return peer.Forbidden(err)
	}
	return nil
}

// mayReportFor refuses (403) a shard report about source from any member but the worker bound to
// it: with a certificate per member, one worker can neither hold up nor steer the shard DDLs of a
// source it does not replicate, and a source bound to no worker has no one to report for it.
func (s *Server) mayReportFor(r *http.Request, source string) error {
	worker, ok := s.state.BoundWorker(source)
	if !ok {
		return peer.Forbidden(fmt.Errorf("%w: source %q is bound to no worker, so no one may report its shard DDLs", security.ErrForbidden, source))
	}
	return s.mayActAs(r, worker)
}
