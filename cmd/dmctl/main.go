// Command dmctl is the command-line client of a dm cluster. It speaks the OpenAPI of any
// master (which forwards to the leader), so it needs nothing but an address.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		os.Exit(1)
	}
}

type client struct {
	addr    string
	timeout time.Duration
}

func newRoot() *cobra.Command {
	c := &client{}
	root := &cobra.Command{
		Use:           "dmctl",
		Short:         "Manage a dm cluster through its OpenAPI",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	def := os.Getenv("DM_MASTER_ADDR")
	if def == "" {
		def = "127.0.0.1:8261"
	}
	root.PersistentFlags().StringVar(&c.addr, "master-addr", def, "dm-master API address (env DM_MASTER_ADDR)")
	root.PersistentFlags().DurationVar(&c.timeout, "rpc-timeout", 10*time.Minute, "timeout of one call")

	var onlyMaster, onlyWorker bool
	list := &cobra.Command{
		Use:   "list-member",
		Short: "List masters and workers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := map[string]json.RawMessage{}
			if !onlyWorker {
				b, err := c.call(http.MethodGet, "/api/v1/cluster/masters", nil)
				if err != nil {
					return err
				}
				out["masters"] = b
			}
			if !onlyMaster {
				b, err := c.call(http.MethodGet, "/api/v1/cluster/workers", nil)
				if err != nil {
					return err
				}
				out["workers"] = b
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	list.Flags().BoolVar(&onlyMaster, "master", false, "masters only")
	list.Flags().BoolVar(&onlyWorker, "worker", false, "workers only")

	var offMaster, offWorker bool
	var name string
	offline := &cobra.Command{
		Use:   "offline-member",
		Short: "Remove a master from the cluster, or delete an offline worker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if offMaster == offWorker || name == "" {
				return fmt.Errorf("give exactly one of --master or --worker, and --name")
			}
			kind := "masters"
			if offWorker {
				kind = "workers"
			}
			if _, err := c.call(http.MethodDelete, "/api/v1/cluster/"+kind+"/"+url.PathEscape(name), nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %q removed\n", strings.TrimSuffix(kind, "s"), name)
			return nil
		},
	}
	offline.Flags().BoolVar(&offMaster, "master", false, "remove a master")
	offline.Flags().BoolVar(&offWorker, "worker", false, "delete a worker")
	offline.Flags().StringVar(&name, "name", "", "member name")

	root.AddCommand(list, offline)
	return root
}

// call sends one request and returns the body, or an error carrying the error template.
func (c *client) call(method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	base := c.addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(base, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: c.timeout}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	return data, nil
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("format answer: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
