package scheduler

import (
	"errors"
	"testing"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func TestParseConstraint(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string // String() of the parsed constraint
		wantErr string
	}{
		{in: "node.id==abc", want: "node.id==abc"},
		{in: "node.hostname != web-1", want: "node.hostname!=web-1"},
		{in: "NODE.ROLE==Manager", want: "node.role==Manager"},
		{in: "node.role!=worker", want: "node.role!=worker"},
		{in: "node.platform.os==linux", want: "node.platform.os==linux"},
		{in: "node.platform.arch==x86_64", want: "node.platform.arch==x86_64"},
		{in: "node.labels.Zone==eu-west", want: "node.labels.Zone==eu-west"},
		{in: "Node.Labels.disk.type==ssd", want: "node.labels.disk.type==ssd"},
		{in: "node.labels.a!=b==c", wantErr: `invalid constraint "node.labels.a!=b==c": value "b==c" must not contain an operator`},
		{in: "zone=a", wantErr: `invalid constraint "zone=a": want KEY==VALUE or KEY!=VALUE`},
		{in: "", wantErr: `invalid constraint "": want KEY==VALUE or KEY!=VALUE`},
		{in: "==a", wantErr: `invalid constraint "==a": missing key`},
		{in: "node.id==", wantErr: `invalid constraint "node.id==": missing value`},
		{in: "node.ip==10.0.0.1", wantErr: `invalid constraint "node.ip==10.0.0.1": unknown key "node.ip" (want node.id, node.hostname, node.role, node.labels.<label>, node.platform.os or node.platform.arch)`},
		{in: "node.labels.==x", wantErr: `invalid constraint "node.labels.==x": unknown key "node.labels." (want node.id, node.hostname, node.role, node.labels.<label>, node.platform.os or node.platform.arch)`},
		{in: "node.role==boss", wantErr: `invalid constraint "node.role==boss": node.role must be manager or worker, not "boss"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			c, err := ParseConstraint(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseConstraint(%q) = %v, %v; want error %q", tc.in, c, err, tc.wantErr)
				}
				if !errors.Is(err, ErrInvalidConstraint) {
					t.Fatalf("error %v does not wrap ErrInvalidConstraint", err)
				}
				return
			}
			if err != nil || c.String() != tc.want {
				t.Fatalf("ParseConstraint(%q) = %q, %v; want %q", tc.in, c.String(), err, tc.want)
			}
		})
	}
}

func TestConstraintMatches(t *testing.T) {
	web := node("id-web", hostname("web-1"), manager, platform("linux", "x86_64"), labels("zone", "a", "Disk", "SSD"))
	bare := &swarmv1.Node{Id: "id-bare"}
	for _, tc := range []struct {
		constraint string
		n          *swarmv1.Node
		want       bool
	}{
		{"node.id==id-web", web, true},
		{"node.id!=id-web", web, false},
		{"node.id==ID-WEB", web, true},
		{"node.hostname==web-1", web, true},
		{"node.hostname!=web-1", web, false},
		{"node.hostname==web-2", web, false},
		{"node.hostname!=web-2", bare, true},
		{"node.role==manager", web, true},
		{"node.role==worker", web, false},
		{"node.role!=manager", web, false},
		{"node.role==worker", node("w"), true},
		{"node.role==worker", bare, false},
		{"node.platform.os==linux", web, true},
		{"node.platform.os==Linux", web, true},
		{"node.platform.os!=windows", web, true},
		{"node.platform.arch==amd64", web, true},
		{"node.platform.arch==x86_64", node("go-arch"), true},
		{"node.platform.arch==aarch64", node("arm", platform("linux", "arm64")), true},
		{"node.platform.arch!=arm64", web, true},
		{"node.labels.zone==a", web, true},
		{"node.labels.zone==A", web, true},
		{"node.labels.zone!=a", web, false},
		{"node.labels.zone==b", web, false},
		{"node.labels.zone!=b", web, true},
		{"node.labels.Disk==ssd", web, true},
		{"node.labels.disk==ssd", web, false}, // label names are case sensitive
		{"node.labels.gpu==yes", web, false},
		{"node.labels.gpu!=yes", web, true}, // a missing label reads as empty
		{"node.labels.gpu!=yes", bare, true},
	} {
		t.Run(tc.constraint+"/"+tc.n.GetId(), func(t *testing.T) {
			c, err := ParseConstraint(tc.constraint)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Matches(tc.n); got != tc.want {
				t.Fatalf("%s matches %s = %v, want %v", tc.constraint, tc.n.GetId(), got, tc.want)
			}
		})
	}
}
