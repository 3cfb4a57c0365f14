package node

import (
	"context"
	"errors"
	"slices"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/task"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

type psOptions struct {
	noTrunc bool
	quiet   bool
	format  string
	filter  cli.Filters
}

func newPsCommand(c *cli.CLI) *cobra.Command {
	var opts psOptions
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [NODE...]",
		Short: "List tasks running on one or more nodes, defaults to current node",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"self"}
			}
			return runPs(cmd.Context(), c, args, &opts)
		},
	}
	flags := cmd.Flags()
	flags.VarP(&opts.filter, "filter", "f", "Filter output based on conditions provided")
	flags.StringVar(&opts.format, "format", "", "Pretty-print tasks using a Go template")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate output")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display task IDs")
	return cmd
}

// runPs prints the tasks of the nodes found, then the errors about the
// others, as docker does.
func runPs(ctx context.Context, c *cli.CLI, refs []string, opts *psOptions) error {
	if err := task.CheckFilters(&opts.filter); err != nil {
		return err
	}
	var ids []string
	failed := cli.ForEach(refs, func(ref string) error {
		resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodeInspect{NodeInspect: &swarmv1.NodeInspectRequest{Ref: ref}}})
		if err != nil {
			return err
		}
		id := resp.GetNode().GetNode().GetId()
		if id == "" {
			return cli.ErrUnexpectedResponse
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
		return nil
	})
	if len(ids) == 0 {
		return failed
	}
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_TaskList{TaskList: &swarmv1.TaskListRequest{NodeRefs: ids}}})
	if err != nil {
		return errors.Join(failed, err)
	}
	list := resp.GetTaskList()
	if list == nil {
		return cli.ErrUnexpectedResponse
	}
	tasks := slices.DeleteFunc(slices.Clone(list.GetTasks()), func(t *swarmv1.Task) bool { return !slices.Contains(ids, t.GetNodeId()) })
	tasks = task.Filter(list, tasks, &opts.filter)
	if err := task.Write(c.Out, list, tasks, task.Options{NoTrunc: opts.noTrunc, Quiet: opts.quiet, Format: opts.format}, c.Now()); err != nil {
		return err
	}
	return failed
}
