package network

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

type createOptions struct {
	driver     string
	subnet     string
	gateway    string
	attachable bool
	labels     []string
}

func newCreateCommand(c *cli.CLI) *cobra.Command {
	var opts createOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := opts.spec(args[0])
			if err != nil {
				return err
			}
			return runCreate(cmd.Context(), c, spec)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.driver, "driver", "d", "overlay", "Driver to manage the Network")
	flags.StringVar(&opts.subnet, "subnet", "", "Subnet in CIDR format that represents a network segment")
	flags.StringVar(&opts.gateway, "gateway", "", "IPv4 Gateway for the master subnet")
	flags.BoolVar(&opts.attachable, "attachable", false, "Enable manual container attachment")
	flags.StringArrayVar(&opts.labels, "label", nil, "Set metadata on a network")
	return cmd
}

// spec checks the flags as docker's client does and builds the spec; the
// daemon checks the rest (subnet overlap, gateway inside the subnet).
func (o *createOptions) spec(name string) (*swarmv1.NetworkSpec, error) {
	if o.driver != "overlay" {
		return nil, fmt.Errorf("network driver %q is not supported: swarm networks use the overlay driver (-d overlay)", o.driver)
	}
	if o.gateway != "" && o.subnet == "" {
		return nil, fmt.Errorf("every ip-range or gateway must have a corresponding subnet")
	}
	spec := &swarmv1.NetworkSpec{Name: name, Driver: o.driver, Subnet: o.subnet, Gateway: o.gateway, Attachable: o.attachable}
	for _, l := range o.labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid label %q: want key=value", l)
		}
		if spec.Labels == nil {
			spec.Labels = map[string]string{}
		}
		spec.Labels[k] = v
	}
	return spec, nil
}

// runCreate creates the network and prints its ID, as docker does.
func runCreate(ctx context.Context, c *cli.CLI, spec *swarmv1.NetworkSpec) error {
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NetworkCreate{NetworkCreate: &swarmv1.NetworkCreateRequest{Spec: spec}}})
	if err != nil {
		return err
	}
	n := resp.GetNetwork().GetNetwork()
	if n == nil {
		return cli.ErrUnexpectedResponse
	}
	_, err = fmt.Fprintln(c.Out, n.GetId())
	return err
}
