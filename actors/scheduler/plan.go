package scheduler

import (
	"cmp"
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
	nodes     []*swarmv1.Node
	index     map[string]int32
	available []bool            // filter 1, which does not depend on the task
	offers    map[string][]bool // filter 2 by runtime, filled as runtimes come
	load      []load
	capacity  []resources
	used      []resources
	tasksOf   map[string][]int32 // service ID → the node of each of its tasks

	// Scratch for the group being placed.
	fail   []filter // first static filter each node fails
	leaves []int32  // backing array of the root heap when there is no spread
}

// load is what orders the nodes of a leaf, kept together so that comparing
// two nodes touches one cache line each.
type load struct {
	svc   int32 // tasks of the service being placed (set per group)
	total int32 // tasks of every service, active and planned
	rank  int32 // position in node ID order
}

func newPlanner(nodes []*swarmv1.Node) *planner {
	p := &planner{
		nodes:     nodes,
		index:     make(map[string]int32, len(nodes)),
		available: make([]bool, len(nodes)),
		offers:    make(map[string][]bool),
		load:      make([]load, len(nodes)),
		capacity:  make([]resources, len(nodes)),
		used:      make([]resources, len(nodes)),
		tasksOf:   make(map[string][]int32),
		fail:      make([]filter, len(nodes)),
		leaves:    make([]int32, 0, len(nodes)),
	}
	byID := make([]int32, len(nodes))
	for i, n := range nodes {
		byID[i] = int32(i)
		p.available[i] = available(n)
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
		p.load[i].rank = int32(r)
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
	p.load[n].total++
	p.used[n].cpu += r.cpu
	p.used[n].mem += r.mem
	p.tasksOf[t.GetServiceId()] = append(p.tasksOf[t.GetServiceId()], n)
}

// group is the pending tasks of one service placed by the same rules.
type group struct {
	service string
	spec    *swarmv1.TaskSpec // the first task's
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
		for g != nil && !samePlacement(g.spec, t.GetSpec()) {
			g, last = g.next, g
		}
		if g == nil {
			g = &group{service: t.GetServiceId(), spec: t.GetSpec()}
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
	want        resources
	maxPerNode  uint64
	spread      []string
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
		want:        resources{cpu: max(g.spec.GetReservations().GetNanoCpus(), 0), mem: max(g.spec.GetReservations().GetMemoryBytes(), 0)},
		maxPerNode:  g.spec.GetPlacement().GetMaxReplicasPerNode(),
		spread:      spreadLabels(g.spec.GetPlacement()),
	}
	for _, n := range p.tasksOf[g.service] {
		p.load[n].svc++
	}
	root := p.tree(&r)
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
		p.load[n].svc = 0
	}
}

// dynamicFilter runs the filters whose verdict on a node changes as tasks
// are placed (4–5).
func (p *planner) dynamicFilter(n int32, r *rules) filter {
	switch {
	case !p.capacity[n].fits(p.used[n], r.want):
		return filterResources
	case r.maxPerNode > 0 && uint64(p.load[n].svc) >= r.maxPerNode:
		return filterMaxReplicas
	}
	return pass
}

// staticFilter runs filters 1–3 on node n; offers is filter 2 for the
// group's runtime.
func (p *planner) staticFilter(n int32, offers []bool, r *rules) filter {
	switch {
	case !p.available[n]:
		return filterAvailability
	case !offers[n]:
		return filterRuntime
	case !satisfies(p.nodes[n], r.constraints):
		return filterConstraints
	}
	return pass
}

// offering returns which nodes offer a runtime.
func (p *planner) offering(runtime string) []bool {
	if o, ok := p.offers[runtime]; ok {
		return o
	}
	o := make([]bool, len(p.nodes))
	for i, n := range p.nodes {
		o[i] = offers(n, runtime)
	}
	p.offers[runtime] = o
	return o
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

// tree builds the decision tree of a group: a branch per label-value group
// of each spread label, the eligible nodes in heaps at the leaves.
func (p *planner) tree(r *rules) *branch {
	root := &branch{leaf: len(r.spread) == 0}
	if root.leaf {
		root.nodes = p.leaves[:0]
	}
	offers := p.offering(r.runtime)
	for i, node := range p.nodes {
		n := int32(i)
		p.fail[n] = p.staticFilter(n, offers, r)
		if p.fail[n] != pass {
			continue
		}
		b := root
		b.count += p.load[n].svc
		for depth, label := range r.spread {
			b = b.child(node.GetSpec().GetLabels()[label], depth == len(r.spread)-1)
			b.count += p.load[n].svc
		}
		if p.dynamicFilter(n, r) == pass {
			b.nodes = append(b.nodes, n)
		}
	}
	p.init(root)
	return root
}

// take places one task on the best node of the tree and returns it.
func (p *planner) take(root *branch, r *rules) int32 {
	leaf := root
	for !leaf.leaf {
		leaf = leaf.kids[0]
	}
	n := leaf.nodes[0]
	p.load[n].svc++
	p.load[n].total++
	p.used[n].cpu += r.want.cpu
	p.used[n].mem += r.want.mem
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
