package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/connectsoft/tenantctl/internal/exitcode"
	"github.com/connectsoft/tenantctl/isolation"
)

func init() { register(newTiersCmd) }

func newTiersCmd(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tiers",
		Short: "Print the tier × layer isolation matrix the engine provisions from",
		Args:  invalidArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch opts.output {
			case "text":
				return writeTiersText(cmd.OutOrStdout())
			case "json":
				if err := writeDocument(cmd.OutOrStdout(), kindTiers, tiersReport()); err != nil {
					return fmt.Errorf("tiers: write: %w", err)
				}
				return nil
			}
			return exitcode.With(exitcode.Invalid, fmt.Errorf("tiers: unsupported output %q (want text or json)", opts.output))
		},
	}
}

// tiersJSON is the matrix as data, with the override rules a binding is validated against.
type tiersJSON struct {
	Tiers  []isolation.Tier                                      `json:"tiers"`
	Layers []isolation.Layer                                     `json:"layers"`
	Matrix map[isolation.Tier]map[isolation.Layer]isolation.Cell `json:"matrix"`
	// Overrides lists, per overridable layer, its modes from the weakest to the strongest; a
	// binding may move a layer up from its tier's mode, never down.
	Overrides map[isolation.Layer][]isolation.Mode `json:"overrides"`
}

func tiersReport() tiersJSON {
	r := tiersJSON{Tiers: isolation.Tiers, Layers: isolation.Layers, Matrix: isolation.Matrix, Overrides: map[isolation.Layer][]isolation.Mode{}}
	for _, l := range isolation.Layers {
		if isolation.Overridable(l) {
			r.Overrides[l] = isolation.Modes(l)
		}
	}
	return r
}

func writeTiersText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	header := []string{"LAYER"}
	for _, t := range isolation.Tiers {
		header = append(header, strings.ToUpper(string(t)))
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, l := range isolation.Layers {
		modes, descs := []string{string(l)}, []string{""}
		for _, t := range isolation.Tiers {
			c := isolation.Matrix[t][l]
			modes = append(modes, string(c.Mode))
			descs = append(descs, c.Description)
		}
		fmt.Fprintln(tw, strings.Join(modes, "\t"))
		fmt.Fprintln(tw, strings.Join(descs, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("tiers: write: %w", err)
	}
	var over []string
	for _, l := range isolation.Layers {
		if isolation.Overridable(l) {
			over = append(over, fmt.Sprintf("%s (%s)", l, joinModes(isolation.Modes(l))))
		}
	}
	_, err := fmt.Fprintf(w, "\nOverrides may strengthen one layer beyond the tier, never weaken it: %s.\n", strings.Join(over, "; "))
	return err
}

func joinModes(ms []isolation.Mode) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, " < ")
}
