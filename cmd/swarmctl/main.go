// Command swarmctl is the ActorSwarm command-line client: the docker CLI's
// swarm, node, service and network commands, sent to a swarmd gateway.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/events"
	"github.com/actorswarm/swarm/cmd/swarmctl/network"
	"github.com/actorswarm/swarm/cmd/swarmctl/node"
	"github.com/actorswarm/swarm/cmd/swarmctl/service"
	"github.com/actorswarm/swarm/cmd/swarmctl/swarm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	c := cli.New(os.Stdout, os.Stderr)
	root := cli.NewRootCommand(c, swarm.NewCommand(c), node.NewCommand(c), service.NewCommand(c), network.NewCommand(c), events.NewCommand(c))
	code := c.Execute(ctx, root, os.Args[1:])
	stop()
	os.Exit(code)
}
