package service

import (
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// lbPolicies are the balancing policies a published port may ask for.
var lbPolicies = []string{"roundrobin", "leastconn", "p2c"}

// parsePort reads a --publish value: the short form
// [PUBLISHED:]TARGET[/tcp|/udp], or the long form of comma-separated
// key=value fields mode=ingress|host, target, published,
// protocol=tcp|udp, lb=roundrobin|leastconn|p2c and proxy-protocol=v2.
// The published port may be left out (the daemon picks one). The mode is
// ingress unless said otherwise.
func parsePort(s string) (*swarmv1.PortConfig, error) {
	if strings.Contains(s, "=") {
		return parseLongPort(s)
	}
	p := &swarmv1.PortConfig{Protocol: swarmv1.Protocol_PROTOCOL_TCP, Mode: swarmv1.PublishMode_PUBLISH_MODE_INGRESS}
	ports, proto, hasProto := strings.Cut(s, "/")
	if hasProto {
		var err error
		if p.Protocol, err = parseProtocol(proto); err != nil {
			return nil, err
		}
	}
	parts := strings.Split(ports, ":")
	if len(parts) > 2 {
		return nil, errors.New("hostip is not supported")
	}
	var err error
	if p.TargetPort, err = parsePortNumber("target", parts[len(parts)-1]); err != nil {
		return nil, err
	}
	if len(parts) == 2 {
		if p.PublishedPort, err = parsePortNumber("published", parts[0]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func parseLongPort(s string) (*swarmv1.PortConfig, error) {
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return nil, fmt.Errorf("invalid port %q: %w", s, err)
	}
	p := &swarmv1.PortConfig{Protocol: swarmv1.Protocol_PROTOCOL_TCP, Mode: swarmv1.PublishMode_PUBLISH_MODE_INGRESS}
	for _, field := range fields {
		key, value, ok := strings.Cut(field, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("invalid field %s", field)
		}
		switch strings.ToLower(key) {
		case "mode":
			switch value {
			case "ingress":
				p.Mode = swarmv1.PublishMode_PUBLISH_MODE_INGRESS
			case "host":
				p.Mode = swarmv1.PublishMode_PUBLISH_MODE_HOST
			default:
				return nil, fmt.Errorf("invalid publish mode value %s: want ingress or host", value)
			}
		case "target":
			p.TargetPort, err = parsePortNumber("target", value)
		case "published":
			p.PublishedPort, err = parsePortNumber("published", value)
		case "protocol":
			p.Protocol, err = parseProtocol(value)
		case "lb":
			if !slices.Contains(lbPolicies, value) {
				return nil, fmt.Errorf("invalid lb value %s: want %s", value, strings.Join(lbPolicies, ", "))
			}
			p.Lb = value
		case "proxy-protocol":
			if value != "v2" {
				return nil, fmt.Errorf("invalid proxy-protocol value %s: only v2 is supported", value)
			}
			p.ProxyProtocol = true
		default:
			return nil, fmt.Errorf("invalid field key %s", key)
		}
		if err != nil {
			return nil, err
		}
	}
	if p.TargetPort == 0 {
		return nil, fmt.Errorf("missing mandatory field %q", "target")
	}
	return p, nil
}

func parsePortNumber(what, s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("invalid %s port %q: ports are 1-65535", what, s)
	}
	return uint32(n), nil
}

func parseProtocol(s string) (swarmv1.Protocol, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return swarmv1.Protocol_PROTOCOL_TCP, nil
	case "udp":
		return swarmv1.Protocol_PROTOCOL_UDP, nil
	}
	return swarmv1.Protocol_PROTOCOL_UNSPECIFIED, fmt.Errorf("invalid protocol value %s: want tcp or udp", s)
}
