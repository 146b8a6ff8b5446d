package main

import (
	"bytes"
	"fmt"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
)

// configCmd is DM's `config`: print a configuration a user could re-apply. For masters and
// workers the API serves their name and advertised address only, and that is what is
// printed; tasks and sources are printed as DM's files (file_verbs.go).
func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config master|worker|task|source <name>",
		Short: "Print the configuration of a member, a task or a source",
		Args:  args(1, -1, "master, worker, task or source, then a name"),
		RunE: verb(func(_ *cobra.Command, args []string) error {
			return usagef("config: unknown kind %q, want master, worker, task or source", args[0])
		}),
	}
	for _, kind := range []string{"master", "worker"} {
		cmd.AddCommand(&cobra.Command{
			Use:   kind + " <name>",
			Short: fmt.Sprintf("Print what the API serves of dm-%s's configuration (name, advertise-addr)", kind),
			Args:  args(1, 1, "the "+kind+"'s name"),
			RunE: verb(func(cmd *cobra.Command, args []string) error {
				return a.memberConfig(cmd, kind, args[0])
			}),
		})
	}
	cmd.AddCommand(a.fileConfigCmds()...)
	cmd.AddCommand(a.pendingConfigCmds()...)
	return cmd
}

// memberTOML is the part of a member's TOML file that the API serves.
type memberTOML struct {
	Name          string `toml:"name"`
	AdvertiseAddr string `toml:"advertise-addr"`
}

func (m memberTOML) render(kind string) (string, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# dm-%s %s: the keys the API serves; the rest of its configuration is in its own file\n", kind, m.Name)
	if err := toml.NewEncoder(&b).Encode(m); err != nil {
		return "", fmt.Errorf("format the configuration: %w", err)
	}
	return b.String(), nil
}
