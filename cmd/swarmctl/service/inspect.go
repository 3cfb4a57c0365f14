package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

type inspectOptions struct {
	format string
	pretty bool
}

func newInspectCommand(c *cli.CLI) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] SERVICE [SERVICE...]",
		Short: "Display detailed information on one or more services",
		Args:  cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.Context(), c, opts, args)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.format, "format", "f", "", "Format the output using the given Go template")
	flags.BoolVar(&opts.pretty, "pretty", false, "Print the information in a human friendly format")
	return cmd
}

func runInspect(ctx context.Context, c *cli.CLI, opts inspectOptions, refs []string) error {
	if opts.pretty && opts.format != "" {
		return errors.New("--format is incompatible with human friendly format")
	}
	var found []*swarmv1.Service
	failed := cli.ForEach(refs, func(ref string) error {
		svc, err := inspectService(ctx, c, ref)
		if err == nil {
			found = append(found, svc)
		}
		return err
	})
	// Like docker, print what was found, then the errors.
	if err := writeInspect(c.Out, found, opts, c.Now()); err != nil {
		return err
	}
	return failed
}

// writeInspect prints services as a JSON array, with a template per
// service, or in docker's --pretty layout.
func writeInspect(w io.Writer, services []*swarmv1.Service, opts inspectOptions, now time.Time) error {
	switch {
	case opts.pretty:
		for _, svc := range services {
			if _, err := io.WriteString(w, pretty(svc, now)); err != nil {
				return err
			}
		}
		return nil
	case opts.format != "":
		return cli.WriteFormatted(w, opts.format, services)
	}
	return writeInspectJSON(w, services)
}

// writeInspectJSON prints the services as an indented JSON array in
// protobuf's JSON mapping.
func writeInspectJSON(w io.Writer, services []*swarmv1.Service) error {
	var raw bytes.Buffer
	raw.WriteByte('[')
	for i, svc := range services {
		if i > 0 {
			raw.WriteByte(',')
		}
		b, err := protojson.Marshal(svc)
		if err != nil {
			return err
		}
		raw.Write(b)
	}
	raw.WriteByte(']')
	// Indent also drops the random spacing protojson adds to stay unstable.
	var out bytes.Buffer
	if err := json.Indent(&out, raw.Bytes(), "", "    "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := out.WriteTo(w)
	return err
}
