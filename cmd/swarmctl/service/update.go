package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// updateCmdOptions are the flags of update: the shared ones, and those
// that change what a service already has.
type updateCmdOptions struct {
	serviceOptions
	image                               string
	args                                []string
	envAdd, envRm                       []string
	labelAdd, labelRm                   []string
	containerLabelAdd, containerLabelRm []string
	constraintAdd, constraintRm         []string
	prefAdd, prefRm                     []string
	networkAdd, networkRm               []string
	publishAdd, publishRm               []*swarmv1.PortConfig
	force, rollback                     bool
}

func newUpdateCommand(c *cli.CLI) *cobra.Command {
	opts := &updateCmdOptions{}
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] SERVICE",
		Short: "Update a service",
		Args:  cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.rollback {
				if err := onlyRollbackFlags(cmd.Flags()); err != nil {
					return err
				}
				return runRollback(cmd.Context(), c, args[0], opts.detach, opts.quiet)
			}
			return runUpdate(cmd.Context(), c, args[0], opts, cmd.Flags().Changed)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.image, "image", "", "Service image tag")
	flags.Var(commandValue{&opts.args}, "args", "Service command args")
	flags.BoolVar(&opts.rollback, "rollback", false, "Rollback to previous specification")
	flags.BoolVar(&opts.force, "force", false, "Force update even if no changes require it")
	addServiceFlags(flags, &opts.serviceOptions, false)
	flags.Var(newList(&opts.envAdd, checkEnv), "env-add", "Add or update an environment variable")
	flags.Var(newList(&opts.envRm, nil), "env-rm", "Remove an environment variable")
	flags.Var(newList(&opts.labelAdd, checkLabel), "label-add", "Add or update a service label")
	flags.Var(newList(&opts.labelRm, nil), "label-rm", "Remove a label by its key")
	flags.Var(newList(&opts.containerLabelAdd, checkLabel), "container-label-add", "Add or update a container label")
	flags.Var(newList(&opts.containerLabelRm, nil), "container-label-rm", "Remove a container label by its key")
	flags.Var(newList(&opts.constraintAdd, checkConstraint), "constraint-add", "Add or update a placement constraint")
	flags.Var(newList(&opts.constraintRm, nil), "constraint-rm", "Remove a constraint")
	flags.Var(&listValue{values: &opts.prefAdd, check: spreadLabel, kind: "pref"}, "placement-pref-add", "Add a placement preference")
	flags.Var(&listValue{values: &opts.prefRm, check: spreadLabel, kind: "pref"}, "placement-pref-rm", "Remove a placement preference")
	flags.Var(&listValue{values: &opts.networkAdd, check: checkNetwork, kind: "network"}, "network-add", "Add a network")
	flags.Var(newList(&opts.networkRm, nil), "network-rm", "Remove a network")
	flags.Var(portsValue{&opts.publishAdd}, "publish-add", "Add or update a published port")
	flags.Var(portsValue{&opts.publishRm}, "publish-rm", "Remove a published port by its target port")
	return cmd
}

// onlyRollbackFlags refuses --rollback with flags that would change the
// spec.
func onlyRollbackFlags(flags *pflag.FlagSet) error {
	var other bool
	flags.Visit(func(f *pflag.Flag) {
		other = other || f.Name != "rollback" && f.Name != "detach" && f.Name != "quiet"
	})
	if other {
		return errors.New("other flags may not be combined with --rollback")
	}
	return nil
}

// runUpdate reads the service, applies the flags the user gave to its
// spec and sends the whole spec back with the version it read, so that a
// concurrent change is refused instead of lost.
func runUpdate(ctx context.Context, c *cli.CLI, ref string, opts *updateCmdOptions, changed changedFunc) error {
	svc, err := inspectService(ctx, c, ref)
	if err != nil {
		return err
	}
	spec := proto.Clone(svc.GetSpec()).(*swarmv1.ServiceSpec)
	if err := opts.applyUpdate(spec, changed); err != nil {
		return err
	}
	req := &swarmv1.ServiceUpdateRequest{Ref: svc.GetId(), Version: svc.GetVersion(), Spec: spec}
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceUpdate{ServiceUpdate: req}})
	if err != nil {
		return err
	}
	writeWarnings(c, resp.GetService())
	if _, err := fmt.Fprintln(c.Out, ref); err != nil {
		return err
	}
	if opts.detach {
		return nil
	}
	return c.WaitOnService(ctx, ref, cli.WaitOptions{Quiet: opts.quiet})
}

// inspectService reads the service named ref.
func inspectService(ctx context.Context, c *cli.CLI, ref string) (*swarmv1.Service, error) {
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceInspect{ServiceInspect: &swarmv1.ServiceInspectRequest{Ref: ref}}})
	if err != nil {
		return nil, err
	}
	svc := resp.GetService().GetService()
	if svc == nil {
		return nil, cli.ErrUnexpectedResponse
	}
	return svc, nil
}
