package service

import (
	"context"
	"errors"
	"slices"
	"strings"

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
		Use:   "ps [OPTIONS] SERVICE [SERVICE...]",
		Short: "List the tasks of one or more services",
		Args:  cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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

// runPs prints the tasks of the services found, then fails naming those
// not found ("no such service: x"), as docker does.
func runPs(ctx context.Context, c *cli.CLI, refs []string, opts *psOptions) error {
	if err := task.CheckFilters(&opts.filter); err != nil {
		return err
	}
	// One request when every service exists; only when one does not are
	// they looked up one by one, to print the others' tasks and name it.
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_TaskList{TaskList: &swarmv1.TaskListRequest{ServiceRefs: refs}}})
	if err == nil {
		list := resp.GetTaskList()
		if list == nil {
			return cli.ErrUnexpectedResponse
		}
		tasks := task.Filter(list, list.GetTasks(), &opts.filter)
		return task.Write(c.Out, list, tasks, task.Options{NoTrunc: opts.noTrunc, Quiet: opts.quiet, Format: opts.format}, c.Now())
	}
	if !cli.IsNotFound(err) {
		return err
	}
	var ids, notFound []string
	for _, ref := range refs {
		svc, err := inspectService(ctx, c, ref)
		if cli.IsNotFound(err) {
			notFound = append(notFound, "no such service: "+ref)
			continue
		}
		if err != nil {
			return err
		}
		if !slices.Contains(ids, svc.GetId()) {
			ids = append(ids, svc.GetId())
		}
	}
	if len(ids) == 0 {
		return errors.New(strings.Join(notFound, "\n"))
	}
	resp, err = c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_TaskList{TaskList: &swarmv1.TaskListRequest{ServiceRefs: ids}}})
	if err != nil {
		return err
	}
	list := resp.GetTaskList()
	if list == nil {
		return cli.ErrUnexpectedResponse
	}
	tasks := slices.DeleteFunc(slices.Clone(list.GetTasks()), func(t *swarmv1.Task) bool { return !slices.Contains(ids, t.GetServiceId()) })
	tasks = task.Filter(list, tasks, &opts.filter)
	if err := task.Write(c.Out, list, tasks, task.Options{NoTrunc: opts.noTrunc, Quiet: opts.quiet, Format: opts.format}, c.Now()); err != nil {
		return err
	}
	if len(notFound) > 0 {
		return errors.New(strings.Join(notFound, "\n"))
	}
	return nil
}
