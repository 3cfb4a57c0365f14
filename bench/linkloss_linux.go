package bench

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// linkLoss drops each packet a network namespace sends or receives on one
// device with a probability (iptables' statistic match: this kernel has no
// netem). Unlike Loopback.SetLoss it adds and removes its own rules only,
// so it can be used in this process's namespace, whose chains hold other
// rules.
type linkLoss struct {
	ns    string // "" for this process's namespace
	rules [][]string
}

// loseOnLink makes namespace ns ("" for this process's) lose packets on
// dev with probability p each way.
func loseOnLink(ctx context.Context, ns, dev string, p float64) (*linkLoss, error) {
	prob := strconv.FormatFloat(p, 'f', 4, 64)
	l := &linkLoss{ns: ns, rules: [][]string{
		{"INPUT", "-i", dev, "-m", "statistic", "--mode", "random", "--probability", prob, "-j", "DROP"},
		{"OUTPUT", "-o", dev, "-m", "statistic", "--mode", "random", "--probability", prob, "-j", "DROP"},
	}}
	for i, r := range l.rules {
		if err := l.iptables(ctx, "-I", r); err != nil {
			for _, done := range l.rules[:i] {
				_ = l.iptables(context.Background(), "-D", done)
			}
			return nil, err
		}
	}
	return l, nil
}

func (l *linkLoss) iptables(ctx context.Context, op string, rule []string) error {
	return iptablesIn(ctx, l.ns, append([]string{op}, rule...)...)
}

// iptablesIn runs iptables -w with args in network namespace ns ("" for
// this process's).
func iptablesIn(ctx context.Context, ns string, args ...string) error {
	args = append([]string{"iptables", "-w"}, args...)
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	return run(ctx, args[0], args[1:]...)
}

// Close removes the rules.
func (l *linkLoss) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, r := range l.rules {
		errs = append(errs, l.iptables(ctx, "-D", r))
	}
	return errors.Join(errs...)
}
