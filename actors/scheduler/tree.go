package scheduler

// branch is one label-value group of a group's decision tree: the root holds
// every node that passes the static filters, each level below splits its
// parent by the value of one spread label, and a leaf keeps its eligible
// nodes in a heap. An inner branch keeps its children that still have an
// eligible node in a heap ordered by count, then by their best node's key,
// so the top of the root leads to the best node of the whole tree.
type branch struct {
	parent *branch
	leaf   bool
	// count is the number of tasks of the service on the branch's nodes.
	count int32
	kids  []*branch // heap of non-empty children (inner branch)
	nodes []int32   // heap of eligible nodes (leaf)

	// Used while the tree is built.
	id  int32     // the label value, numbered (see layout)
	all []*branch // children in order of creation
}

// empty reports whether no node under the branch is eligible.
func (b *branch) empty() bool {
	if b.leaf {
		return len(b.nodes) == 0
	}
	return len(b.kids) == 0
}

// keep offers node n to a leaf that keeps only the k best of its nodes,
// which is enough to place k tasks: a node's key grows only when it takes
// a task, and a node leaves the heap only after taking one, so before each
// of the k placements one of the k best is still untouched and beats every
// node outside them. While the tree is built the leaf is a heap with its
// worst node on top, which a better node replaces.
func (p *planner) keep(b *branch, n int32, k int) {
	switch {
	case len(b.nodes) < k:
		b.nodes = append(b.nodes, n)
		p.upWorst(b.nodes, len(b.nodes)-1)
	case p.nodeLess(n, b.nodes[0]):
		b.nodes[0] = n
		p.downWorst(b.nodes, 0)
	}
}

// heapify orders the heaps of a freshly built tree, leaves first.
func (p *planner) heapify(b *branch) {
	if b.leaf {
		for i := len(b.nodes)/2 - 1; i >= 0; i-- {
			p.downNodes(b.nodes, i)
		}
		return
	}
	for _, c := range b.all {
		p.heapify(c)
		if !c.empty() {
			b.kids = append(b.kids, c)
		}
	}
	for i := len(b.kids)/2 - 1; i >= 0; i-- {
		p.downKids(b.kids, i)
	}
	b.all = nil
}

// nodeLess orders nodes of one leaf: fewer tasks of the service, then fewer
// tasks overall, then node ID.
func (p *planner) nodeLess(a, b int32) bool {
	la, lb := &p.load[a], &p.load[b]
	if la.tasks != lb.tasks {
		return la.tasks < lb.tasks
	}
	return la.rank < lb.rank
}

// branchLess orders sibling branches: fewer tasks of the service, then the
// order of their best nodes' keys one level down, and so on to the nodes.
func (p *planner) branchLess(a, b *branch) bool {
	for {
		if a.count != b.count {
			return a.count < b.count
		}
		if a.leaf {
			return p.nodeLess(a.nodes[0], b.nodes[0])
		}
		a, b = a.kids[0], b.kids[0]
	}
}

func (p *planner) downNodes(h []int32, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && p.nodeLess(h[r], h[l]) {
			m = r
		}
		if !p.nodeLess(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// upWorst and downWorst keep a heap with the worst node on top (keep).
func (p *planner) upWorst(h []int32, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !p.nodeLess(h[parent], h[i]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (p *planner) downWorst(h []int32, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && p.nodeLess(h[l], h[r]) {
			m = r
		}
		if !p.nodeLess(h[i], h[m]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (p *planner) popNode(h []int32) []int32 {
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	p.downNodes(h, 0)
	return h
}

func (p *planner) downKids(h []*branch, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && p.branchLess(h[r], h[l]) {
			m = r
		}
		if !p.branchLess(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (p *planner) popKid(h []*branch) []*branch {
	last := len(h) - 1
	h[0] = h[last]
	h[last] = nil
	h = h[:last]
	p.downKids(h, 0)
	return h
}
