package service

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// The flag values below are pflag.Values named as docker names them in
// usage ("list", "bytes", "decimal"...). Their String is empty until set,
// so that usage shows no default of pflag's own.

// listValue is a repeatable flag; check, when set, vets and may rewrite
// each value.
type listValue struct {
	values *[]string
	check  func(string) (string, error)
	kind   string
}

func newList(values *[]string, check func(string) (string, error)) *listValue {
	return &listValue{values: values, check: check, kind: "list"}
}

func (l *listValue) Set(s string) error {
	if l.check != nil {
		var err error
		if s, err = l.check(s); err != nil {
			return err
		}
	}
	*l.values = append(*l.values, s)
	return nil
}

func (l *listValue) String() string { return strings.Join(*l.values, ",") }
func (l *listValue) Type() string   { return l.kind }

// replicasValue is --replicas: a whole number.
type replicasValue struct{ n *uint64 }

func (v replicasValue) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid replicas value %s: want a whole number", s)
	}
	*v.n = n
	return nil
}

func (v replicasValue) String() string { return "" }
func (v replicasValue) Type() string   { return "uint" }

// durationValue is a Go duration that may not be negative.
type durationValue struct{ d *time.Duration }

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d < 0 {
		return errors.New("duration cannot be negative")
	}
	*v.d = d
	return nil
}

func (v durationValue) String() string { return "" }
func (v durationValue) Type() string   { return "duration" }

// cpuValue is a number of CPUs ("0.5", "2") kept in nano CPUs.
type cpuValue struct{ nano *int64 }

func (v cpuValue) Set(s string) error {
	n, err := parseNanoCPUs(s)
	if err != nil {
		return err
	}
	*v.nano = n
	return nil
}

func (v cpuValue) String() string { return "" }
func (v cpuValue) Type() string   { return "decimal" }

// parseNanoCPUs reads a decimal number of CPUs exactly, as docker does.
func parseNanoCPUs(s string) (int64, error) {
	cpus, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("failed to parse %v as a rational number", s)
	}
	if cpus.Sign() < 0 {
		return 0, fmt.Errorf("invalid CPU value %s: must not be negative", s)
	}
	nano := cpus.Mul(cpus, big.NewRat(1e9, 1))
	if !nano.IsInt() || !nano.Num().IsInt64() {
		return 0, errors.New("value is too precise")
	}
	return nano.Num().Int64(), nil
}

// bytesValue is a size in docker's units ("512m", "1g", bytes).
type bytesValue struct{ n *int64 }

func (v bytesValue) Set(s string) error {
	n, err := cli.RAMInBytes(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

func (v bytesValue) String() string { return "" }
func (v bytesValue) Type() string   { return "bytes" }

// ratioValue is a failure ratio between 0 and 1.
type ratioValue struct{ r *float32 }

func (v ratioValue) Set(s string) error {
	r, err := strconv.ParseFloat(s, 32)
	if err != nil || r < 0 || r > 1 {
		return fmt.Errorf("invalid ratio %s: want a number from 0 to 1", s)
	}
	*v.r = float32(r)
	return nil
}

func (v ratioValue) String() string { return "" }
func (v ratioValue) Type() string   { return "float" }

// portsValue is a repeatable --publish.
type portsValue struct{ ports *[]*swarmv1.PortConfig }

func (v portsValue) Set(s string) error {
	p, err := parsePort(s)
	if err != nil {
		return err
	}
	*v.ports = append(*v.ports, p)
	return nil
}

func (v portsValue) String() string { return "" }
func (v portsValue) Type() string   { return "port" }
