package network

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

type inspectOptions struct {
	format string
}

func newInspectCommand(c *cli.CLI) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.Context(), c, opts, args)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format the output using the given Go template")
	return cmd
}

func runInspect(ctx context.Context, c *cli.CLI, opts inspectOptions, refs []string) error {
	var found []inspected
	failed := cli.ForEach(refs, func(ref string) error {
		resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NetworkInspect{NetworkInspect: &swarmv1.NetworkInspectRequest{Ref: ref}}})
		if err != nil {
			return err
		}
		n := resp.GetNetwork().GetNetwork()
		if n == nil {
			return cli.ErrUnexpectedResponse
		}
		found = append(found, inspectedOf(n, resp.GetNetwork().GetAttachments()))
		return nil
	})
	// Like docker, print what was found, then the errors.
	if err := writeInspect(c.Out, found, opts); err != nil {
		return err
	}
	return failed
}

// inspected is a network as `docker network inspect` shows one.
type inspected struct {
	Name       string
	ID         string `json:"Id"`
	Created    string
	Scope      string
	Driver     string
	EnableIPv6 bool
	IPAM       ipam
	Internal   bool
	Attachable bool
	Ingress    bool
	ConfigFrom struct{ Network string }
	ConfigOnly bool
	Containers map[string]endpoint
	Options    map[string]string
	Labels     map[string]string
}

// endpoint is one task on the network, as docker shows a container. Unlike
// docker's (this node's containers only), the list is swarm-wide: every
// task with an address, and the nodes' own addresses ("lb-" entries, as
// docker calls a node's load-balancer endpoint).
type endpoint struct {
	Name        string
	EndpointID  string
	MacAddress  string
	IPv4Address string
	IPv6Address string
}

type ipam struct {
	Driver  string
	Options map[string]string
	Config  []ipamConfig
}

type ipamConfig struct {
	Subnet  string
	Gateway string
}

// vxlanOption is the option under which docker shows an overlay's VNI.
const vxlanOption = "com.docker.network.driver.overlay.vxlanid_list"

func inspectedOf(n *swarmv1.Network, atts []*swarmv1.Attachment) inspected {
	labels := n.GetSpec().GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	var containers map[string]endpoint
	if len(atts) > 0 {
		bits := "32"
		if p, err := netip.ParsePrefix(n.GetSubnet()); err == nil {
			bits = strconv.Itoa(p.Bits())
		}
		containers = make(map[string]endpoint, len(atts))
		for _, a := range atts {
			key, name := a.GetTaskId(), a.GetServiceName()+"."+strconv.FormatUint(a.GetSlot(), 10)+"."+a.GetTaskId()
			if node, ok := strings.CutPrefix(a.GetTaskId(), "node:"); ok {
				key, name = "lb-"+node, "lb-"+node
			}
			containers[key] = endpoint{Name: name, IPv4Address: a.GetAddress() + "/" + bits}
		}
	}
	return inspected{
		Name:       n.GetSpec().GetName(),
		ID:         n.GetId(),
		Created:    time.Unix(0, n.GetCreatedUnixNano()).UTC().Format(time.RFC3339Nano),
		Scope:      "swarm",
		Driver:     n.GetSpec().GetDriver(),
		IPAM:       ipam{Driver: "default", Config: []ipamConfig{{Subnet: n.GetSubnet(), Gateway: n.GetGateway()}}},
		Attachable: n.GetSpec().GetAttachable(),
		Containers: containers,
		Options:    map[string]string{vxlanOption: strconv.FormatUint(uint64(n.GetVni()), 10)},
		Labels:     labels,
	}
}

// writeInspect prints the networks as docker's indented JSON array, or
// one template result per network.
func writeInspect(w io.Writer, found []inspected, opts inspectOptions) error {
	if opts.format != "" {
		return cli.WriteFormatted(w, opts.format, found)
	}
	if found == nil {
		found = []inspected{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(found); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}
