package master

import (
	"context"
	"fmt"
	"net/http"

	"github.com/dm-oss/dm/fsm"
	"github.com/dm-oss/dm/internal/security"
	"github.com/dm-oss/dm/restapi"
)

// GetSource answers with one source as the list shows it; an unknown source is a 404, as DM's
// newer GET /sources/{name} answers it (with DM's code in the template).
func (s *Server) GetSource(ctx context.Context, name string, withStatus bool) (restapi.Source, error) {
	src, ok := s.state.Source(name)
	if !ok {
		return restapi.Source{}, restapi.Errorf(http.StatusNotFound, fsm.CodeSourceNotExist, "source %q does not exist", name)
	}
	view := sourceView(src)
	if withStatus {
		list, err := s.SourceStatus(ctx, name)
		if err != nil {
			return restapi.Source{}, err
		}
		tasks := restapi.TaskNameList(s.state.TasksOfSource(name))
		view.StatusList, view.TaskNameList = &list, &tasks
	}
	return view, nil
}

// UpdateSource replaces how a source is reached, checked as CreateSource checks a new one. The
// bound worker sees the new spec and restarts what reads the source; the subtasks continue
// from their checkpoints (by GTID when the new spec names another server).
func (s *Server) UpdateSource(ctx context.Context, name string, src restapi.Source) (restapi.Source, error) {
	if err := validateSource(src); err != nil {
		return restapi.Source{}, err
	}
	if src.SourceName != name {
		return restapi.Source{}, badRequest(fsm.CodeRequestInvalid, "invalid source: source_name %q differs from %q in the path: a source cannot be renamed", src.SourceName, name)
	}
	old, err := s.loadSource(name)
	if err != nil {
		return restapi.Source{}, err
	}
	c, err := s.cipher(ctx)
	if err != nil {
		return restapi.Source{}, err
	}
	if err := keepSourceSecrets(old.Spec, &src, c); err != nil {
		return restapi.Source{}, err
	}
	info, err := checkUpstream(ctx, src)
	if err != nil {
		return restapi.Source{}, err
	}
	spec, err := s.sourceSpec(ctx, src, info)
	if err != nil {
		return restapi.Source{}, err
	}
	spec.CaseSensitive = old.Spec.CaseSensitive
	cmd := fsm.UpdateSource{Name: name, Spec: spec}
	// Refused now, before anything is written, as the log would refuse it.
	if err := s.state.CheckUpdateSource(cmd); err != nil {
		return restapi.Source{}, err
	}
	if _, err := s.apply(ctx, cmd); err != nil {
		return restapi.Source{}, err
	}
	s.logger.Info("source updated", "source", name, "host", spec.Host, "port", spec.Port, "enable_gtid", spec.EnableGTID,
		"flavor", spec.Flavor, "server_id", spec.ServerID, "was_host", old.Spec.Host, "was_port", old.Spec.Port, "was_server_id", old.Spec.ServerID)
	return sourceView(fsm.Source{Name: name, Spec: spec}), nil
}

// keepSourceSecrets fills in the secrets a body leaves as GET answers them: the masked
// password keeps the stored one, a security object without contents keeps the stored TLS
// material (its cert_allowed_cn applies).
func keepSourceSecrets(old fsm.SourceSpec, src *restapi.Source, c *security.Cipher) error {
	if src.Password == maskedPassword {
		pwd, err := c.Decrypt(old.PasswordEnc)
		if err != nil {
			return fmt.Errorf("decrypt the stored password of source %q: %w", src.SourceName, err)
		}
		src.Password = pwd
	}
	return keepTLS(old.Security, src.Security, c)
}

// keepTLS puts the stored TLS material into a security object that has none of its own.
func keepTLS(old *fsm.TLSSpec, sec *restapi.Security, c *security.Cipher) error {
	if old == nil || sec == nil || sec.SslCaContent != "" || sec.SslCertContent != "" || sec.SslKeyContent != "" {
		return nil
	}
	key, err := c.Decrypt(old.SSLKeyEnc)
	if err != nil {
		return fmt.Errorf("decrypt the stored TLS key: %w", err)
	}
	sec.SslCaContent, sec.SslCertContent, sec.SslKeyContent = old.SSLCA, old.SSLCert, key
	return nil
}
