package scheduler

import (
	"errors"
	"fmt"
	"strings"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// ErrInvalidConstraint is wrapped by every error of ParseConstraint.
var ErrInvalidConstraint = errors.New("invalid constraint")

// Operator compares a node attribute with a constraint's value.
type Operator uint8

// The operators of docker's constraint syntax.
const (
	Equal    Operator = iota + 1 // ==
	NotEqual                     // !=
)

// String returns the operator as written in a constraint.
func (o Operator) String() string {
	switch o {
	case Equal:
		return "=="
	case NotEqual:
		return "!="
	}
	return fmt.Sprintf("Operator(%d)", uint8(o))
}

// attr is the node attribute a constraint reads.
type attr uint8

const (
	attrID attr = iota + 1
	attrHostname
	attrRole
	attrOS
	attrArch
	attrLabel
)

// The keys of docker's constraint syntax, in their canonical spelling.
const (
	keyID       = "node.id"
	keyHostname = "node.hostname"
	keyRole     = "node.role"
	keyOS       = "node.platform.os"
	keyArch     = "node.platform.arch"
	labelPrefix = "node.labels."
)

var fixedKeys = []struct {
	key  string
	attr attr
}{
	{keyID, attrID},
	{keyHostname, attrHostname},
	{keyRole, attrRole},
	{keyOS, attrOS},
	{keyArch, attrArch},
}

// Constraint is one parsed `--constraint KEY==VALUE` or `KEY!=VALUE`. Build
// it with ParseConstraint.
type Constraint struct {
	// Key is node.id, node.hostname, node.role, node.platform.os,
	// node.platform.arch or node.labels.<label>: the fixed part is
	// canonical (lower case), the label name as written.
	Key      string
	Operator Operator
	Value    string

	attr  attr
	label string
}

// ParseConstraint parses one constraint in docker's syntax. Keys are matched
// without regard to case except for label names; a node.role value must be
// manager or worker. Every error wraps ErrInvalidConstraint and reads
// `invalid constraint "<s>": <why>`.
func ParseConstraint(s string) (Constraint, error) {
	bad := func(format string, args ...any) (Constraint, error) {
		return Constraint{}, fmt.Errorf("%w %q: %s", ErrInvalidConstraint, s, fmt.Sprintf(format, args...))
	}
	eq, ne := strings.Index(s, "=="), strings.Index(s, "!=")
	var c Constraint
	i := eq
	switch {
	case eq < 0 && ne < 0:
		return bad("want KEY==VALUE or KEY!=VALUE")
	case ne >= 0 && (eq < 0 || ne < eq):
		c.Operator, i = NotEqual, ne
	default:
		c.Operator = Equal
	}
	key, value := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+2:])
	if key == "" {
		return bad("missing key")
	}
	if value == "" {
		return bad("missing value")
	}
	if strings.ContainsAny(value, "=!<>~") {
		return bad("value %q must not contain an operator", value)
	}
	c.Value = value
	for _, k := range fixedKeys {
		if strings.EqualFold(key, k.key) {
			c.Key, c.attr = k.key, k.attr
		}
	}
	if c.attr == 0 && len(key) > len(labelPrefix) && strings.EqualFold(key[:len(labelPrefix)], labelPrefix) {
		c.label = key[len(labelPrefix):]
		c.Key, c.attr = labelPrefix+c.label, attrLabel
	}
	switch {
	case c.attr == 0:
		return bad("unknown key %q (want node.id, node.hostname, node.role, node.labels.<label>, node.platform.os or node.platform.arch)", key)
	case c.attr == attrRole && !strings.EqualFold(value, "manager") && !strings.EqualFold(value, "worker"):
		return bad("node.role must be manager or worker, not %q", value)
	}
	return c, nil
}

// String returns the constraint in docker's syntax.
func (c Constraint) String() string {
	return c.Key + c.Operator.String() + c.Value
}

// Matches reports whether node n satisfies the constraint. Values compare
// without regard to case, as in docker; a label the node lacks reads as
// empty, so `node.labels.x!=v` holds on a node without label x. For
// node.platform.arch, docker's names and Go's are the same architecture
// (x86_64 is amd64, aarch64 is arm64).
func (c Constraint) Matches(n *swarmv1.Node) bool {
	var got string
	want := c.Value
	switch c.attr {
	case attrID:
		got = n.GetId()
	case attrHostname:
		got = n.GetDescription().GetHostname()
	case attrRole:
		got = roleName(n.GetRole())
	case attrOS:
		got = n.GetDescription().GetOs()
	case attrArch:
		got, want = canonicalArch(n.GetDescription().GetArch()), canonicalArch(want)
	case attrLabel:
		got = n.GetSpec().GetLabels()[c.label]
	default:
		return false
	}
	return strings.EqualFold(got, want) == (c.Operator == Equal)
}

func roleName(r swarmv1.NodeRole) string {
	switch r {
	case swarmv1.NodeRole_NODE_ROLE_MANAGER:
		return "manager"
	case swarmv1.NodeRole_NODE_ROLE_WORKER:
		return "worker"
	}
	return ""
}

func canonicalArch(a string) string {
	switch strings.ToLower(a) {
	case "x86_64", "x86-64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return a
}

// parseConstraints parses a task's constraints, stopping at the first bad
// one.
func parseConstraints(ss []string) ([]Constraint, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	cs := make([]Constraint, 0, len(ss))
	for _, s := range ss {
		c, err := ParseConstraint(s)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}
