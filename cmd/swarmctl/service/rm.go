package service

import (
	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func newRemoveCommand(c *cli.CLI) *cobra.Command {
	return cli.RemoveCommand(c, "SERVICE", "Remove one or more services", func(ref string) *swarmv1.GatewayRequest {
		return &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceRemove{ServiceRemove: &swarmv1.ServiceRemoveRequest{Ref: ref}}}
	})
}
