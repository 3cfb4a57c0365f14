package scheduler

import (
	"cmp"
	"fmt"
	"iter"
	"slices"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Assignment places one task on one node.
type Assignment struct {
	TaskID string
	NodeID string
}

// Result is a plan: where tasks go, and why the others stay pending.
type Result struct {
	// Assignments are listed in the order of the pending tasks.
	Assignments []Assignment
	// Unplaced maps the ID of each task that fits nowhere to the reason, in
	// docker's words (see the package documentation); nil when every task
	// was placed.
	Unplaced map[string]string
}

// Plan places pending tasks on nodes.
//
// nodes is every node of the swarm. active is every task that holds a node
// now (node_id set, desired state at most RUNNING, status not terminal), of
// every service: their reservations are taken from their node's capacity
// and they count for spreading; tasks naming an unknown node are ignored.
// pending is the tasks to place, with their spec and service_id; a pending
// task that already has a node_id is not placed again but counted as active.
//
// Plan is pure and deterministic (see the package documentation for the
// rules); it does not modify its arguments.
func Plan(nodes []*swarmv1.Node, active, pending []*swarmv1.Task) Result {
	if len(pending) == 0 {
		return Result{}
	}
	p := newPlanner(nodes)
	for _, t := range active {
		p.hold(t)
	}
	return p.plan(pending)
}

// Usage is what the active tasks of every service hold on one node.
type Usage struct {
	Tasks       int
	NanoCPUs    int64
	MemoryBytes int64
	// HostPorts are the ports its tasks publish in host mode ("80/tcp").
	HostPorts []string
}

// With returns u with one more task, t.
func (u Usage) With(t *swarmv1.Task) Usage {
	r := reservationOf(t)
	u.Tasks++
	u.NanoCPUs += r.cpu
	u.MemoryBytes += r.mem
	if ports := hostPortKeys(t); len(ports) > 0 {
		u.HostPorts = append(slices.Clip(u.HostPorts), ports...)
	}
	return u
}

// PlanWithUsage is Plan for swarms too big to list every active task at
// every placement: usage yields what the active tasks of every service
// hold, by node ID (a node may come more than once: its entries add up),
// and own lists the active tasks of the services being placed (counted in
// usage too), which spreading a service over nodes needs. It places as
// Plan does with the same tasks (nil usage: none). usage is read once,
// its entries added as they come: a swarm's managers yield each shard's
// sums from where they keep them, without a map of their total for each
// placement.
func PlanWithUsage(nodes []*swarmv1.Node, usage iter.Seq2[string, Usage], own, pending []*swarmv1.Task) Result {
	if len(pending) == 0 {
		return Result{}
	}
	p := newPlanner(nodes)
	if usage == nil {
		usage = func(func(string, Usage) bool) {}
	}
	for id, u := range usage {
		n, ok := p.index[id]
		if !ok {
			continue
		}
		p.load[n].tasks += uint64(u.Tasks) * aTask
		p.used[n].cpu += u.NanoCPUs
		p.used[n].mem += u.MemoryBytes
		if len(u.HostPorts) > 0 {
			p.ports[n] = append(p.ports[n], u.HostPorts...)
		}
	}
	for _, t := range own {
		if n, ok := p.index[t.GetNodeId()]; ok {
			p.tasksOf[t.GetServiceId()] = append(p.tasksOf[t.GetServiceId()], n)
		}
	}
	return p.plan(pending)
}

// plan places pending tasks on the nodes as held so far.
func (p *planner) plan(pending []*swarmv1.Task) Result {
	nodes := p.nodes
	groups := p.group(pending)

	placed := make([]int32, len(pending))
	for i := range placed {
		placed[i] = -1
	}
	var res Result
	unplaced := func(task int32, reason string) {
		if res.Unplaced == nil {
			res.Unplaced = make(map[string]string)
		}
		res.Unplaced[pending[task].GetId()] = reason
	}
	for _, g := range groups {
		p.place(g, placed, unplaced)
	}

	n := 0
	for _, at := range placed {
		if at >= 0 {
			n++
		}
	}
	res.Assignments = make([]Assignment, 0, n)
	for i, at := range placed {
		if at >= 0 {
			res.Assignments = append(res.Assignments, Assignment{TaskID: pending[i].GetId(), NodeID: nodes[at].GetId()})
		}
	}
	return res
}

// planner holds the state of one Plan call: the nodes, what they hold, and
// scratch space for the group being placed. Nodes are referred to by their
// index in the nodes slice.
type planner struct {
	nodes []*swarmv1.Node
	index map[string]int32
	// static holds, by runtime and constraints, the first of filters 1–3
	// each node fails, for the groups placed so far (within staticBudget).
	static   map[string][]filter
	layouts  map[string]*layout // by spread labels
	load     []load
	capacity []resources
	used     []resources
	tasksOf  map[string][]int32 // service ID → the node of each of its tasks
	ports    map[int32][]string // node → host-mode ports its tasks publish

	// Scratch for the group being placed.
	fail     []filter // first static filter (1–3) each node fails
	uncached []filter // backing array of fail once static is full
	leaves   []int32  // backing array of the root heap when there is no spread
}

// load is what orders the nodes of a leaf, packed so that comparing two
// nodes is one comparison in the common case.
type load struct {
	// tasks counts, in its high half, the tasks of the service being
	// placed (set per group) and, in its low half, the tasks of every
	// service, active and planned.
	tasks uint64
	rank  uint32 // position in node ID order
}

// aTask and aTaskOfService are what a task adds to load.tasks.
const (
	aTask          = 1
	aTaskOfService = 1 << 32
)

func (l *load) svc() int32 { return int32(l.tasks >> 32) }

func newPlanner(nodes []*swarmv1.Node) *planner {
	p := &planner{
		nodes:    nodes,
		index:    make(map[string]int32, len(nodes)),
		static:   make(map[string][]filter),
		layouts:  make(map[string]*layout),
		load:     make([]load, len(nodes)),
		capacity: make([]resources, len(nodes)),
		used:     make([]resources, len(nodes)),
		tasksOf:  make(map[string][]int32),
		ports:    make(map[int32][]string),
		uncached: make([]filter, len(nodes)),
		leaves:   make([]int32, 0, len(nodes)),
	}
	byID := make([]int32, len(nodes))
	for i, n := range nodes {
		byID[i] = int32(i)
		p.capacity[i] = capacityOf(n)
		if id := n.GetId(); id != "" {
			if _, dup := p.index[id]; !dup {
				p.index[id] = int32(i)
			}
		}
	}
	slices.SortFunc(byID, func(a, b int32) int {
		return cmp.Or(cmp.Compare(nodes[a].GetId(), nodes[b].GetId()), cmp.Compare(a, b))
	})
	for r, i := range byID {
		p.load[i].rank = uint32(r)
	}
	return p
}

// hold counts a task that holds a node.
func (p *planner) hold(t *swarmv1.Task) {
	n, ok := p.index[t.GetNodeId()]
	if !ok {
		return
	}
	r := reservationOf(t)
	p.load[n].tasks += aTask
	p.used[n].cpu += r.cpu
	p.used[n].mem += r.mem
	p.tasksOf[t.GetServiceId()] = append(p.tasksOf[t.GetServiceId()], n)
	if ports := hostPortKeys(t); len(ports) > 0 {
		p.ports[n] = append(p.ports[n], ports...)
	}
}

// portClash reports whether node n has a task publishing one of ports.
func (p *planner) portClash(n int32, ports []string) bool {
	for _, used := range p.ports[n] {
		if slices.Contains(ports, used) {
			return true
		}
	}
	return false
}

// group is the pending tasks of one service placed by the same rules.
type group struct {
	service string
	spec    *swarmv1.TaskSpec // the first task's
	ports   []string          // the first task's host-mode ports
	tasks   []int32           // indices in pending
	next    *group            // the next group of the same service
}

// group splits pending tasks into groups, in the order of each group's
// first task, and holds pending tasks that already have a node.
func (p *planner) group(pending []*swarmv1.Task) []*group {
	var groups []*group
	first := make(map[string]*group)
	for i, t := range pending {
		if t == nil {
			continue
		}
		if t.GetNodeId() != "" {
			p.hold(t)
			continue
		}
		g, last := first[t.GetServiceId()], (*group)(nil)
		for g != nil && !(samePlacement(g.spec, t.GetSpec()) && slices.Equal(g.ports, hostPortKeys(t))) {
			g, last = g.next, g
		}
		if g == nil {
			g = &group{service: t.GetServiceId(), spec: t.GetSpec(), ports: hostPortKeys(t)}
			groups = append(groups, g)
			if last == nil {
				first[g.service] = g
			} else {
				last.next = g
			}
		}
		g.tasks = append(g.tasks, int32(i))
	}
	return groups
}

// rules are a group's placement rules, ready to apply.
type rules struct {
	runtime     string
	constraints []Constraint
	signature   string // runtime and constraints, as written
	want        resources
	maxPerNode  uint64
	spread      []string
	ports       []string // host-mode ports
}

// place places the tasks of one group, recording each task's node in
// placed, and reports the tasks that fit nowhere.
func (p *planner) place(g *group, placed []int32, unplaced func(task int32, reason string)) {
	cs, err := parseConstraints(g.spec.GetPlacement().GetConstraints())
	if err != nil {
		for _, t := range g.tasks {
			unplaced(t, err.Error())
		}
		return
	}
	if len(p.nodes) == 0 {
		for _, t := range g.tasks {
			unplaced(t, noNodes)
		}
		return
	}
	r := rules{
		runtime:     runtimeOf(g.spec),
		constraints: cs,
		signature:   fmt.Sprintf("%q %q", runtimeOf(g.spec), g.spec.GetPlacement().GetConstraints()),
		want:        resources{cpu: max(g.spec.GetReservations().GetNanoCpus(), 0), mem: max(g.spec.GetReservations().GetMemoryBytes(), 0)},
		maxPerNode:  g.spec.GetPlacement().GetMaxReplicasPerNode(),
		spread:      spreadLabels(g.spec.GetPlacement()),
		ports:       g.ports,
	}
	for _, n := range p.tasksOf[g.service] {
		p.load[n].tasks += aTaskOfService
	}
	root := p.tree(&r, len(g.tasks))
	k := 0
	for ; k < len(g.tasks) && !root.empty(); k++ {
		n := p.take(root, &r)
		placed[g.tasks[k]] = n
		p.tasksOf[g.service] = append(p.tasksOf[g.service], n)
	}
	if k < len(g.tasks) {
		reason := p.explain(&r)
		for _, t := range g.tasks[k:] {
			unplaced(t, reason)
		}
	}
	for _, n := range p.tasksOf[g.service] {
		p.load[n].tasks &= aTaskOfService - 1
	}
}

// dynamicFilter runs the filters whose verdict on a node changes as tasks
// are placed (4–5).
func (p *planner) dynamicFilter(n int32, r *rules) filter {
	switch {
	case !p.capacity[n].fits(p.used[n], r.want):
		return filterResources
	case r.maxPerNode > 0 && uint64(p.load[n].svc()) >= r.maxPerNode:
		return filterMaxReplicas
	case len(r.ports) > 0 && p.portClash(n, r.ports):
		return filterHostPort
	}
	return pass
}

// staticBudget bounds the bytes of filter verdicts a plan keeps for reuse.
const staticBudget = 32 << 20

// staticFilters returns the first of filters 1–3 each node fails for a
// group. Groups with the same runtime and constraints, as in a burst of
// tasks of many services, share the result.
func (p *planner) staticFilters(r *rules) []filter {
	if fail, ok := p.static[r.signature]; ok {
		return fail
	}
	fail := p.uncached
	if (len(p.static)+1)*len(p.nodes) <= staticBudget {
		fail = make([]filter, len(p.nodes))
		p.static[r.signature] = fail
	}
	for i, n := range p.nodes {
		switch {
		case !available(n):
			fail[i] = filterAvailability
		case !offers(n, r.runtime):
			fail[i] = filterRuntime
		case !satisfies(n, r.constraints):
			fail[i] = filterConstraints
		default:
			fail[i] = pass
		}
	}
	return fail
}

// explain gives the reason for tasks of a group that no node takes.
func (p *planner) explain(r *rules) string {
	var fails [numFilters]int
	for n := range p.nodes {
		f := p.fail[n]
		if f == pass {
			f = p.dynamicFilter(int32(n), r)
		}
		fails[f]++
	}
	return noSuitableNode(&fails, r.runtime)
}

// tree builds the decision tree of a group of k tasks: a branch per
// label-value group of each spread label, the eligible nodes in heaps at
// the leaves, at most k of them per leaf (see keep).
func (p *planner) tree(r *rules, k int) *branch {
	depth := len(r.spread)
	root := &branch{leaf: depth == 0}
	if root.leaf {
		root.nodes = p.leaves[:0]
	}
	bounded := k < len(p.nodes)
	p.fail = p.staticFilters(r)
	lay := p.layoutFor(r.spread)
	// path is the branches of the node at hand, root first; the layout
	// brings each label-value group as one run, so a branch is complete
	// once a node outside it comes.
	path := make([]*branch, depth+1)
	path[0] = root
	for _, n := range lay.order {
		if p.fail[n] != pass {
			continue
		}
		ids := lay.ids[int(n)*depth : int(n+1)*depth]
		d := 0
		for d < depth && path[d+1] != nil && path[d+1].id == ids[d] {
			d++
		}
		for ; d < depth; d++ {
			c := &branch{parent: path[d], leaf: d == depth-1, id: ids[d]}
			path[d].all = append(path[d].all, c)
			path[d+1] = c
		}
		svc := p.load[n].svc()
		for _, b := range path {
			b.count += svc
		}
		leaf := path[depth]
		switch {
		case p.dynamicFilter(n, r) != pass:
		case bounded:
			p.keep(leaf, n, k)
		default:
			leaf.nodes = append(leaf.nodes, n)
		}
	}
	p.heapify(root)
	return root
}

// layout orders the nodes for a list of spread labels so that each
// label-value group of each label is a run.
type layout struct {
	order []int32
	// ids[n*len(labels)+d] numbers the value of label d on node n.
	ids []int32
}

// layoutFor returns the layout for a list of spread labels, computing it
// the first time a plan needs it.
func (p *planner) layoutFor(labels []string) *layout {
	key := fmt.Sprintf("%q", labels)
	if lay, ok := p.layouts[key]; ok {
		return lay
	}
	depth := len(labels)
	lay := &layout{order: make([]int32, len(p.nodes)), ids: make([]int32, len(p.nodes)*depth)}
	for d, label := range labels {
		number := make(map[string]int32)
		for i, n := range p.nodes {
			v := n.GetSpec().GetLabels()[label]
			id, ok := number[v]
			if !ok {
				id = int32(len(number))
				number[v] = id
			}
			lay.ids[i*depth+d] = id
		}
	}
	for i := range lay.order {
		lay.order[i] = int32(i)
	}
	if depth > 0 {
		slices.SortFunc(lay.order, func(a, b int32) int {
			ia, ib := int(a)*depth, int(b)*depth
			return cmp.Or(slices.Compare(lay.ids[ia:ia+depth], lay.ids[ib:ib+depth]), cmp.Compare(a, b))
		})
	}
	p.layouts[key] = lay
	return lay
}

// take places one task on the best node of the tree and returns it.
func (p *planner) take(root *branch, r *rules) int32 {
	leaf := root
	for !leaf.leaf {
		leaf = leaf.kids[0]
	}
	n := leaf.nodes[0]
	p.load[n].tasks += aTaskOfService + aTask
	p.used[n].cpu += r.want.cpu
	p.used[n].mem += r.want.mem
	if len(r.ports) > 0 {
		p.ports[n] = append(p.ports[n], r.ports...)
	}
	for b := leaf; b != nil; b = b.parent {
		b.count++
	}
	// The placed node is the top of its leaf and every branch on its path
	// is the top of its parent, and every key on the path only grew: each
	// heap is repaired from its top.
	if p.dynamicFilter(n, r) == pass {
		p.downNodes(leaf.nodes, 0)
	} else {
		leaf.nodes = p.popNode(leaf.nodes)
	}
	for b := leaf; b.parent != nil; b = b.parent {
		if b.empty() {
			b.parent.kids = p.popKid(b.parent.kids)
		} else {
			p.downKids(b.parent.kids, 0)
		}
	}
	return n
}
