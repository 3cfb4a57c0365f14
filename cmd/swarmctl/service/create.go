package service

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// createOptions are the flags of create: the shared ones and those that
// only make sense on a new service.
type createOptions struct {
	serviceOptions
	name, mode      string
	labels          []string
	containerLabels []string
	env             []string
	networks        []string
	constraints     []string
	spreadLabels    []string
	ports           []*swarmv1.PortConfig
}

func newCreateCommand(c *cli.CLI) *cobra.Command {
	opts := &createOptions{}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new service",
		Args:  cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := opts.spec(args, cmd.Flags().Changed)
			if err != nil {
				return err
			}
			return runCreate(cmd.Context(), c, spec, opts)
		},
	}
	flags := cmd.Flags()
	flags.SetInterspersed(false) // flags after IMAGE belong to the command
	flags.StringVar(&opts.mode, "mode", "replicated", `Service mode ("replicated"|"global")`)
	flags.StringVar(&opts.name, "name", "", "Service name")
	addServiceFlags(flags, &opts.serviceOptions, true)
	flags.VarP(newList(&opts.labels, checkLabel), "label", "l", "Service labels")
	flags.Var(newList(&opts.containerLabels, checkLabel), "container-label", "Container labels")
	flags.VarP(newList(&opts.env, checkEnv), "env", "e", "Set environment variables")
	flags.Var(newList(&opts.constraints, checkConstraint), "constraint", "Placement constraints")
	flags.Var(&listValue{values: &opts.spreadLabels, check: spreadLabel, kind: "pref"}, "placement-pref", "Add a placement preference")
	flags.Var(&listValue{values: &opts.networks, check: checkNetwork, kind: "network"}, "network", "Network attachments")
	flags.VarP(portsValue{&opts.ports}, "publish", "p", "Publish a port as a node port")
	return cmd
}

// spec builds the spec of `create IMAGE [COMMAND] [ARG...]` from the
// flags the user gave (changed) and swarmkit's defaults.
func (o *createOptions) spec(args []string, changed changedFunc) (*swarmv1.ServiceSpec, error) {
	spec := defaultSpec()
	mode, err := parseMode(o.mode)
	if err != nil {
		return nil, err
	}
	if spec.Mode = mode; mode == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL {
		spec.Replicas = 0
	}
	spec.Name = o.name
	spec.Labels = labelMap(o.labels)
	spec.Ports = o.ports
	spec.Networks = o.networks
	task := spec.Task
	task.Image = args[0]
	if len(args) > 1 {
		task.Args = args[1:]
	}
	task.Env = o.env
	task.Labels = labelMap(o.containerLabels)
	if len(o.constraints) > 0 || len(o.spreadLabels) > 0 {
		placement(task).Constraints = o.constraints
		placement(task).SpreadLabels = o.spreadLabels
	}
	if err := o.apply(spec, changed); err != nil {
		return nil, err
	}
	return spec, nil
}

func runCreate(ctx context.Context, c *cli.CLI, spec *swarmv1.ServiceSpec, opts *createOptions) error {
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceCreate{ServiceCreate: &swarmv1.ServiceCreateRequest{Spec: spec}}})
	if err != nil {
		return err
	}
	svc := resp.GetService().GetService()
	if svc == nil {
		return cli.ErrUnexpectedResponse
	}
	writeWarnings(c, resp.GetService())
	if _, err := fmt.Fprintln(c.Out, svc.GetId()); err != nil {
		return err
	}
	if opts.detach {
		return nil
	}
	// Like docker, wait on the ID: the verify line names it.
	return c.WaitOnService(ctx, svc.GetId(), cli.WaitOptions{Quiet: opts.quiet})
}

// writeWarnings prints what the daemon warns about (no node offers the
// runtime...) on stderr, as docker does.
func writeWarnings(c *cli.CLI, r *swarmv1.ServiceResponse) {
	for _, w := range r.GetWarnings() {
		fmt.Fprintln(c.Err, w)
	}
}
