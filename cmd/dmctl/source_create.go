package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dm-oss/dm/restapi"
	"github.com/dm-oss/dm/restapi/dmyaml"
)

// sampleSourceConfig is what --print-sample-config prints: a source.yaml to start from.
const sampleSourceConfig = `# A DM source.yaml. Passwords may be written in clear or as printed by
# "dmctl --secret-key-path <the cluster's key file> encrypt <password>".
source-id: "mysql-replica-01"
enable-gtid: true
enable-relay: false
from:
  host: "127.0.0.1"
  port: 3306
  user: "dm"
  password: "change-me"
  # security:
  #   ssl-ca: "/path/to/ca.pem"
  #   ssl-cert: "/path/to/cert.pem"
  #   ssl-key: "/path/to/key.pem"
purge:
  interval: 3600
  expires: 0
  remain-space: 15
`

// createSources is `operate-source create`: each file's source is created (and bound to a free
// worker, or to -w's), then its relay started when the file enables it. It stops at the first
// failure, saying which sources were created before it.
func (a *app) createSources(cmd *cobra.Command, files []string, worker string) error {
	if len(files) == 0 {
		return usagef("operate-source create: give the source files")
	}
	if worker != "" && len(files) > 1 {
		return usagef("operate-source create: -w binds one source; give one file")
	}
	parsed, err := a.readSourceFiles(files)
	if err != nil {
		return err
	}
	c, err := a.api()
	if err != nil {
		return err
	}
	out, err := forEachSource(parsed, sourceName, "creating", func(sf dmyaml.SourceFile) (dmWorkerResponse, error) {
		return a.createSource(cmd.Context(), c, sf, worker)
	})
	if err != nil {
		return err
	}
	return a.out(sourcesView(out, out.Sources))
}

func sourceName(sf dmyaml.SourceFile) string { return sf.Source.SourceName }

// createSource creates one source, moves it to worker when one is named, and starts its relay
// log on its worker when the file enables relay.
func (a *app) createSource(ctx context.Context, c *client, sf dmyaml.SourceFile, worker string) (dmWorkerResponse, error) {
	name := sf.Source.SourceName
	if err := c.post(ctx, pathOf("sources"), sf.Source, nil); err != nil {
		return dmWorkerResponse{}, err
	}
	workers, err := listWorkers(ctx, c)
	if err != nil {
		return dmWorkerResponse{}, err
	}
	bound := boundWorker(workers, name)
	if worker != "" && worker != bound {
		if err := c.post(ctx, pathOf("sources", name, "transfer"), restapi.WorkerNameRequest{WorkerName: worker}, nil); err != nil {
			return dmWorkerResponse{}, fmt.Errorf("source %q is created, but binding it to %q failed: %w", name, worker, err)
		}
		bound = worker
	}
	r := dmWorkerResponse{Result: true, Source: name, Worker: bound}
	if bound == "" {
		r.Msg = msgNoFreeWorker
	}
	if !sf.EnableRelay {
		return r, nil
	}
	if bound == "" {
		return r, fmt.Errorf("source %q is created, but its relay cannot start: %s", name, msgNoFreeWorker)
	}
	req := restapi.StartRelayRequest{WorkerNameList: []string{bound}}
	if sf.RelayBinlogName != "" {
		req.RelayBinlogName = &sf.RelayBinlogName
	}
	if sf.RelayBinlogGTID != "" {
		req.RelayBinlogGtid = &sf.RelayBinlogGTID
	}
	if sf.RelayDir != "" {
		req.RelayDir = &sf.RelayDir
	}
	if err := c.post(ctx, pathOf("sources", name, "start-relay"), req, nil); err != nil {
		return r, fmt.Errorf("source %q is created, but starting its relay log failed: %w", name, err)
	}
	return r, nil
}
