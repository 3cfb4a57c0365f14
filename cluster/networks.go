package cluster

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/internal/ident"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// The manager's side of `network create|ls|inspect|rm`: networks live on
// the control shard, with the services' reservations that use them.

func (m *Manager) networkCreate(ctx context.Context, r *swarmv1.NetworkCreateRequest) (*swarmv1.GatewayResponse, error) {
	spec := r.GetSpec()
	if spec == nil {
		return nil, fmt.Errorf("network create: no spec: %w", ErrInvalid)
	}
	n := &swarmv1.Network{Id: ident.New(), Spec: proto.Clone(spec).(*swarmv1.NetworkSpec)}
	res, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_CreateNetwork{CreateNetwork: &swarmv1.CreateNetwork{Network: n}}})
	if err != nil {
		return nil, err
	}
	return networkResponse(res.Network), nil
}

func (m *Manager) networkList(ctx context.Context) (*swarmv1.GatewayResponse, error) {
	v, err := m.raft.Read(ctx, ControlShard, func(s *Store) any { return s.Networks() })
	if err != nil {
		return nil, err
	}
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_NetworkList{NetworkList: &swarmv1.NetworkListResponse{Networks: v.([]*swarmv1.Network)}}}, nil
}

// findNetwork reads the network ref names; not found reads as docker's
// "No such network".
func (m *Manager) findNetwork(ctx context.Context, ref string) (*swarmv1.Network, error) {
	type found struct {
		n   *swarmv1.Network
		err error
	}
	v, err := m.raft.Read(ctx, ControlShard, func(s *Store) any {
		n, err := s.FindNetwork(ref)
		return found{n, err}
	})
	if err != nil {
		return nil, err
	}
	f := v.(found)
	if errors.Is(f.err, ErrNotFound) {
		return nil, fmt.Errorf("No such network: %s: %w", ref, ErrNotFound)
	}
	return f.n, f.err
}

func (m *Manager) networkInspect(ctx context.Context, r *swarmv1.NetworkInspectRequest) (*swarmv1.GatewayResponse, error) {
	n, err := m.findNetwork(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	v, err := m.raft.Read(ctx, ControlShard, func(s *Store) any {
		var out []*swarmv1.Attachment
		for _, a := range s.Attachments() {
			if a.NetworkId == n.Id {
				out = append(out, a)
			}
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	resp := networkResponse(n)
	resp.GetNetwork().Attachments = v.([]*swarmv1.Attachment)
	return resp, nil
}

func (m *Manager) networkRemove(ctx context.Context, r *swarmv1.NetworkRemoveRequest) (*swarmv1.GatewayResponse, error) {
	n, err := m.findNetwork(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	res, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_RemoveNetwork{RemoveNetwork: &swarmv1.RemoveNetwork{NetworkId: n.Id}}})
	if err != nil {
		return nil, err
	}
	return networkResponse(res.Network), nil
}

func networkResponse(n *swarmv1.Network) *swarmv1.GatewayResponse {
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Network{Network: &swarmv1.NetworkResponse{Network: n}}}
}
