package cluster

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Networks (control shard): overlay networks, their subnets and VNIs.
const (
	// DriverOverlay is the only network driver.
	DriverOverlay = "overlay"
	// FirstVNI is the VNI of the first network; Docker's overlay driver
	// starts at 4096 too.
	FirstVNI = 4097
	// maxVNI is the largest 24-bit VNI.
	maxVNI = 1<<24 - 1
	// maxPrefix is the longest prefix a network may have: a /29 leaves
	// a gateway and five task addresses.
	maxPrefix = 29
	// DefaultPoolSize is the prefix of the subnets carved from the
	// default pool.
	DefaultPoolSize = 24
)

// DefaultPool is where networks get their subnet when none is given.
var DefaultPool = netip.MustParsePrefix("10.0.0.0/8")

var validNetworkName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

func (s *Store) applyCreateNetwork(c *swarmv1.CreateNetwork, now int64) (*swarmv1.Result, error) {
	if s.cluster == nil {
		return nil, ErrNoCluster
	}
	n := c.GetNetwork()
	if n.GetId() == "" || n.GetSpec() == nil {
		return nil, fmt.Errorf("create network: incomplete network: %w", ErrInvalid)
	}
	n = proto.Clone(n).(*swarmv1.Network)
	spec := n.Spec
	if !validNetworkName.MatchString(spec.GetName()) {
		return nil, fmt.Errorf("invalid network name %q: names are 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit: %w", spec.GetName(), ErrInvalid)
	}
	if spec.Driver == "" {
		spec.Driver = DriverOverlay
	}
	if spec.Driver != DriverOverlay {
		return nil, fmt.Errorf("network driver %q is not supported: only %s: %w", spec.Driver, DriverOverlay, ErrInvalid)
	}
	if _, ok := s.networks[n.Id]; ok {
		return nil, fmt.Errorf("network %s: %w", n.Id, ErrExists)
	}
	for _, other := range s.networks {
		if other.GetSpec().GetName() == spec.GetName() {
			return nil, fmt.Errorf("network with name %s already exists: %w", spec.GetName(), ErrExists)
		}
	}
	subnet, err := s.subnetFor(spec.GetSubnet())
	if err != nil {
		return nil, err
	}
	gw, err := gatewayFor(subnet, spec.GetGateway())
	if err != nil {
		return nil, err
	}
	vni, err := s.freeVNI()
	if err != nil {
		return nil, err
	}
	n.Subnet, n.Gateway, n.Vni = subnet.String(), gw.String(), vni
	n.CreatedUnixNano, n.UpdatedUnixNano, n.Version = now, now, 1
	s.networks[n.Id] = n
	return &swarmv1.Result{Network: proto.Clone(n).(*swarmv1.Network)}, nil
}

// subnetFor checks a subnet asked for, or takes the first free /24 of
// the default pool.
func (s *Store) subnetFor(asked string) (netip.Prefix, error) {
	if asked != "" {
		p, err := netip.ParsePrefix(asked)
		if err != nil || !p.Addr().Is4() {
			return netip.Prefix{}, fmt.Errorf("invalid subnet %q: want an IPv4 CIDR such as 10.1.0.0/24: %w", asked, ErrInvalid)
		}
		if p.Bits() > maxPrefix {
			return netip.Prefix{}, fmt.Errorf("subnet %s is too small: at most /%d: %w", p, maxPrefix, ErrInvalid)
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("invalid subnet %s: host bits set (the subnet is %s): %w", p, p.Masked(), ErrInvalid)
		}
		if other := s.overlapping(p); other != nil {
			return netip.Prefix{}, fmt.Errorf("invalid pool request: Pool overlaps with other one on this address space (network %s, %s): %w", other.GetSpec().GetName(), other.GetSubnet(), ErrConflict)
		}
		return p, nil
	}
	step := uint32(1) << (32 - DefaultPoolSize)
	base := DefaultPool.Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	count := uint32(1) << (DefaultPoolSize - DefaultPool.Bits())
	for i := range count {
		a := start + i*step
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), DefaultPoolSize)
		if s.overlapping(p) == nil {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free /%d left in the default pool %s: %w", DefaultPoolSize, DefaultPool, ErrConflict)
}

// overlapping returns a network whose subnet overlaps p, nil if none.
func (s *Store) overlapping(p netip.Prefix) *swarmv1.Network {
	for _, id := range s.networkIDs() {
		n := s.networks[id]
		if q, err := netip.ParsePrefix(n.GetSubnet()); err == nil && q.Overlaps(p) {
			return n
		}
	}
	return nil
}

// gatewayFor checks a gateway asked for, or takes the subnet's first
// address.
func gatewayFor(subnet netip.Prefix, asked string) (netip.Addr, error) {
	first := subnet.Addr().Next()
	if asked == "" {
		return first, nil
	}
	gw, err := netip.ParseAddr(asked)
	if err != nil || !gw.Is4() {
		return netip.Addr{}, fmt.Errorf("invalid gateway %q: want an IPv4 address: %w", asked, ErrInvalid)
	}
	if !subnet.Contains(gw) || gw == subnet.Addr() || gw == lastAddr(subnet) {
		return netip.Addr{}, fmt.Errorf("gateway %s is not a host address of subnet %s: %w", gw, subnet, ErrInvalid)
	}
	return gw, nil
}

// lastAddr is the broadcast address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (s *Store) freeVNI() (uint32, error) {
	used := make(map[uint32]bool, len(s.networks))
	for _, n := range s.networks {
		used[n.GetVni()] = true
	}
	for v := uint32(FirstVNI); v <= maxVNI; v++ {
		if !used[v] {
			return v, nil
		}
	}
	return 0, fmt.Errorf("no free VNI: %w", ErrConflict)
}

func (s *Store) applyRemoveNetwork(c *swarmv1.RemoveNetwork) (*swarmv1.Result, error) {
	n, ok := s.networks[c.GetNetworkId()]
	if !ok {
		return nil, fmt.Errorf("network %s not found: %w", c.GetNetworkId(), ErrNotFound)
	}
	var users []string
	for _, r := range s.reservations {
		if slices.Contains(r.GetNetworkIds(), n.Id) {
			users = append(users, r.GetName())
		}
	}
	if len(users) > 0 {
		slices.Sort(users)
		return nil, fmt.Errorf("network %s is in use by service %s: %w", n.GetSpec().GetName(), strings.Join(users, ", "), ErrConflict)
	}
	delete(s.networks, n.Id)
	// Addresses of tasks of removed services that have not ended yet go
	// with the network.
	for id, as := range s.attachments {
		as = slices.DeleteFunc(as, func(a *swarmv1.Attachment) bool { return a.NetworkId == n.Id })
		if len(as) == 0 {
			delete(s.attachments, id)
		} else {
			s.attachments[id] = as
		}
	}
	return &swarmv1.Result{Network: n}, nil
}

// resolveNetworks maps network names or IDs (or unique ID prefixes) to
// IDs, in order and without repeats; an unknown one is an error.
func (s *Store) resolveNetworks(refs []string) ([]string, error) {
	var ids []string
	for _, ref := range refs {
		n, err := s.findNetwork(ref)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ids, n.Id) {
			ids = append(ids, n.Id)
		}
	}
	return ids, nil
}

// findNetwork finds a network by ID, name or unique ID prefix.
func (s *Store) findNetwork(ref string) (*swarmv1.Network, error) {
	if n, ok := s.networks[ref]; ok {
		return n, nil
	}
	for _, id := range s.networkIDs() {
		if s.networks[id].GetSpec().GetName() == ref {
			return s.networks[id], nil
		}
	}
	var found *swarmv1.Network
	for _, id := range s.networkIDs() {
		if ref != "" && strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, fmt.Errorf("network %s is ambiguous (%d matches found): %w", ref, 2, ErrConflict)
			}
			found = s.networks[id]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("network %s not found: %w", ref, ErrNotFound)
	}
	return found, nil
}

func (s *Store) networkIDs() []string {
	ids := make([]string, 0, len(s.networks))
	for id := range s.networks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Networks returns copies of the networks, by name.
func (s *Store) Networks() []*swarmv1.Network {
	out := make([]*swarmv1.Network, 0, len(s.networks))
	for _, n := range s.networks {
		out = append(out, proto.Clone(n).(*swarmv1.Network))
	}
	slices.SortFunc(out, func(a, b *swarmv1.Network) int { return strings.Compare(a.GetSpec().GetName(), b.GetSpec().GetName()) })
	return out
}

// FindNetwork returns a copy of the network ref names (ID, name or unique
// ID prefix).
func (s *Store) FindNetwork(ref string) (*swarmv1.Network, error) {
	n, err := s.findNetwork(ref)
	if err != nil {
		return nil, err
	}
	return proto.Clone(n).(*swarmv1.Network), nil
}

// restoreNetworks loads the networks of a snapshot after checking them.
func (s *Store) restoreNetworks(snap *swarmv1.Snapshot) error {
	vnis := make(map[uint32]bool)
	for _, n := range snap.GetNetworks() {
		if n.GetId() == "" || n.GetSpec().GetName() == "" || n.GetVni() == 0 {
			return fmt.Errorf("snapshot holds an incomplete network: %w", ErrInvalid)
		}
		if _, dup := s.networks[n.Id]; dup || vnis[n.GetVni()] {
			return fmt.Errorf("snapshot holds network %s or VNI %d twice: %w", n.Id, n.GetVni(), ErrInvalid)
		}
		if _, err := netip.ParsePrefix(n.GetSubnet()); err != nil {
			return fmt.Errorf("snapshot holds network %s with subnet %q: %w", n.Id, n.GetSubnet(), ErrInvalid)
		}
		vnis[n.GetVni()] = true
		s.networks[n.Id] = proto.Clone(n).(*swarmv1.Network)
	}
	return nil
}

func (s *Store) applyAllocateAttachments(c *swarmv1.AllocateAttachments) (*swarmv1.Result, error) {
	if len(c.GetRequests()) > maxAttachRequests {
		return nil, fmt.Errorf("allocate: %d requests, at most %d: %w", len(c.GetRequests()), maxAttachRequests, ErrInvalid)
	}
	// Check everything first: a refused command changes nothing.
	for _, r := range c.GetRequests() {
		if r.GetTaskId() == "" {
			return nil, fmt.Errorf("allocate: no task ID: %w", ErrInvalid)
		}
		for _, id := range r.GetNetworkIds() {
			if _, ok := s.networks[id]; !ok {
				return nil, fmt.Errorf("network %s not found: %w", id, ErrNotFound)
			}
		}
	}
	res := &swarmv1.Result{}
	var added []*swarmv1.Attachment
	used := s.usedAddresses()
	for _, r := range c.GetRequests() {
		have := s.attachments[r.TaskId]
		mine := slices.Clone(have)
		for _, id := range r.GetNetworkIds() {
			if slices.ContainsFunc(have, func(a *swarmv1.Attachment) bool { return a.NetworkId == id }) {
				continue // a task keeps its address; only new networks are added
			}
			n := s.networks[id]
			addr, ok := freeAddress(n, used[id])
			if !ok {
				for _, a := range added {
					s.attachments[a.TaskId] = slices.DeleteFunc(s.attachments[a.TaskId], func(b *swarmv1.Attachment) bool { return b == a })
					if len(s.attachments[a.TaskId]) == 0 {
						delete(s.attachments, a.TaskId)
					}
				}
				return nil, fmt.Errorf("no address left in network %s (%s): %w", n.GetSpec().GetName(), n.GetSubnet(), ErrConflict)
			}
			if used[id] == nil {
				used[id] = make(map[string]bool)
			}
			used[id][addr] = true
			a := &swarmv1.Attachment{NetworkId: id, Address: addr, TaskId: r.TaskId, ServiceId: r.ServiceId,
				ServiceName: r.ServiceName, Slot: r.Slot, NodeId: r.NodeId,
				NetworkName: n.GetSpec().GetName(), Vni: n.Vni, Subnet: n.Subnet, Gateway: n.Gateway}
			mine = append(mine, a)
			added = append(added, a)
		}
		if len(mine) > 0 {
			s.attachments[r.TaskId] = mine
		}
		res.Attachments = append(res.Attachments, cloneAttachments(mine)...)
	}
	return res, nil
}

// maxAttachRequests bounds one allocation command.
const maxAttachRequests = 4096

func (s *Store) applyReleaseAttachments(c *swarmv1.ReleaseAttachments) (*swarmv1.Result, error) {
	for _, id := range c.GetTaskIds() {
		delete(s.attachments, id)
	}
	return &swarmv1.Result{}, nil
}

// usedAddresses maps each network to the addresses its tasks hold.
func (s *Store) usedAddresses() map[string]map[string]bool {
	used := make(map[string]map[string]bool)
	for _, as := range s.attachments {
		for _, a := range as {
			if used[a.NetworkId] == nil {
				used[a.NetworkId] = make(map[string]bool)
			}
			used[a.NetworkId][a.Address] = true
		}
	}
	return used
}

// freeAddress is the lowest host address of n that is neither its
// gateway nor used: the same answer on every replica.
func freeAddress(n *swarmv1.Network, used map[string]bool) (string, bool) {
	p, err := netip.ParsePrefix(n.GetSubnet())
	if err != nil {
		return "", false
	}
	last := lastAddr(p)
	for a := p.Addr().Next(); a.IsValid() && a != last && p.Contains(a); a = a.Next() {
		if s := a.String(); s != n.GetGateway() && !used[s] {
			return s, true
		}
	}
	return "", false
}

func cloneAttachments(as []*swarmv1.Attachment) []*swarmv1.Attachment {
	out := make([]*swarmv1.Attachment, len(as))
	for i, a := range as {
		out[i] = proto.Clone(a).(*swarmv1.Attachment)
	}
	return out
}

// Attachments returns copies of every task's attachments, by task ID then
// network.
func (s *Store) Attachments() []*swarmv1.Attachment {
	var out []*swarmv1.Attachment
	ids := make([]string, 0, len(s.attachments))
	for id := range s.attachments {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, cloneAttachments(s.attachments[id])...)
	}
	return out
}

// AttachmentsOf returns copies of a task's attachments.
func (s *Store) AttachmentsOf(taskID string) []*swarmv1.Attachment {
	return cloneAttachments(s.attachments[taskID])
}

// NetworksOfService returns the networks a service's reservation holds.
func (s *Store) NetworksOfService(serviceID string) []string {
	return slices.Clone(s.reservations[serviceID].GetNetworkIds())
}

func (s *Store) restoreAttachments(snap *swarmv1.Snapshot) error {
	seen := make(map[string]map[string]bool)
	for _, a := range snap.GetAttachments() {
		if a.GetTaskId() == "" || s.networks[a.GetNetworkId()] == nil {
			return fmt.Errorf("snapshot holds an attachment of task %q to network %q: %w", a.GetTaskId(), a.GetNetworkId(), ErrInvalid)
		}
		if seen[a.NetworkId] == nil {
			seen[a.NetworkId] = make(map[string]bool)
		}
		if seen[a.NetworkId][a.Address] {
			return fmt.Errorf("snapshot holds address %s of network %s twice: %w", a.Address, a.NetworkId, ErrInvalid)
		}
		seen[a.NetworkId][a.Address] = true
		s.attachments[a.TaskId] = append(s.attachments[a.TaskId], proto.Clone(a).(*swarmv1.Attachment))
	}
	return nil
}

// ServiceNetworks maps every service that attaches to networks to their
// IDs, from the reservations.
func (s *Store) ServiceNetworks() map[string][]string {
	out := make(map[string][]string)
	for id, r := range s.reservations {
		if len(r.GetNetworkIds()) > 0 {
			out[id] = slices.Clone(r.GetNetworkIds())
		}
	}
	return out
}

// PublishedNetworks lists, sorted, the networks of the services that
// publish ports through the routing mesh: every node serves those ports,
// so every node needs an address on those networks.
func (s *Store) PublishedNetworks() []string {
	var out []string
	for _, r := range s.reservations {
		if !slices.ContainsFunc(r.GetPorts(), ingress) {
			continue
		}
		for _, id := range r.GetNetworkIds() {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}
