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

	"github.com/dm-oss/dm/internal/security"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		os.Exit(1)
	}
}

type client struct {
	addr    string
	timeout time.Duration
	// token is the API token (--token, else $DM_TOKEN); never a flag default, which -h prints.
	token string
	// DM's TLS flags: the CA that signed the masters' certificates, and dmctl's own certificate,
	// which masters with ssl-* require (its CN must be in their cert-allowed-cn).
	sslCA, sslCert, sslKey string
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
	root.PersistentFlags().StringVar(&c.token, "token", "", "API token of masters with api-token-path (default: env DM_TOKEN)")
	root.PersistentFlags().StringVar(&c.sslCA, "ssl-ca", "", "CA certificate (PEM) that signed the masters' certificates")
	root.PersistentFlags().StringVar(&c.sslCert, "ssl-cert", "", "dmctl's certificate (PEM), required by masters with ssl-* set")
	root.PersistentFlags().StringVar(&c.sslKey, "ssl-key", "", "dmctl's private key (PEM)")

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

	root.AddCommand(list, offline, newShardDDLLock(c))
	return root
}

// newShardDDLLock is DM's `shard-ddl-lock`: list the pessimistic shard-DDL locks (of one task),
// or resolve one by hand with `unlock`.
func newShardDDLLock(c *client) *cobra.Command {
	locks := &cobra.Command{
		Use:   "shard-ddl-lock [task]",
		Short: "List the shard-DDL locks (of one task); see `shard-ddl-lock unlock` to resolve one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/v1/shard-ddl-locks"
			if len(args) == 1 {
				path += "?" + url.Values{"task_name": {args[0]}}.Encode()
			}
			b, err := c.call(http.MethodGet, path, nil)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), json.RawMessage(b))
		},
	}
	var owner, action string
	unlock := &cobra.Command{
		Use:   "unlock <lock-id>",
		Short: "Resolve a shard-DDL lock now: exec (the owner runs its DDLs) or skip (nobody does)",
		Long: "Resolve a shard-DDL lock without waiting for the sources that have not reported its DDLs.\n" +
			"--action exec (default) has the owner (--owner, or the current owner) run the DDLs in the target;\n" +
			"--action skip has nobody run them. Lock ids look like task-`db`.`tbl` (quote them in the shell).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if action != "exec" && action != "skip" {
				return fmt.Errorf("--action must be exec or skip, not %q", action)
			}
			body := map[string]string{"action": action}
			if owner != "" {
				body["owner"] = owner
			}
			b, err := c.call(http.MethodPost, "/api/v1/shard-ddl-locks/"+url.PathEscape(args[0])+"/unlock", body)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), json.RawMessage(b))
		},
	}
	unlock.Flags().StringVar(&owner, "owner", "", "source that runs the DDLs (exec only; default: the lock's owner)")
	unlock.Flags().StringVar(&action, "action", "exec", "exec or skip")
	locks.AddCommand(unlock)
	return locks
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
	httpClient, scheme, err := c.httpClient()
	if err != nil {
		return nil, err
	}
	base := c.addr
	if !strings.Contains(base, "://") {
		base = scheme + "://" + base
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(base, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token := c.apiToken(); token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
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

// apiToken is --token, or $DM_TOKEN when the flag is not given.
func (c *client) apiToken() string {
	if c.token != "" {
		return c.token
	}
	return strings.TrimSpace(os.Getenv("DM_TOKEN"))
}

// httpClient is the client of one call, with dmctl's certificate when the TLS flags are given,
// and the scheme an address without one gets.
func (c *client) httpClient() (*http.Client, string, error) {
	conf, err := security.ClientTLS(c.sslCA, c.sslCert, c.sslKey)
	if err != nil {
		return nil, "", fmt.Errorf("TLS flags: %w", err)
	}
	if conf == nil {
		return &http.Client{Timeout: c.timeout}, "http", nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = conf
	return &http.Client{Timeout: c.timeout, Transport: tr}, "https", nil
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("format answer: %w", err)
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
