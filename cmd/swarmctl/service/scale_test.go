package service

import (
	"testing"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
)

func TestScale(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "detach", args: []string{"-d", "http=5"}},
		{name: "progress", args: []string{"http=3"}},
		{name: "several", args: []string{"-d", "http=0", "pub=2"}},
		{name: "several-progress", args: []string{"http=1", "pub=2"}},
		{name: "continues-after-errors", args: []string{"-d", "agent=2", "nope=1", "http=x", "http=-1", "pub=4"}, wantCode: 1},
		{name: "global", args: []string{"agent=2"}, wantCode: 1},
		{name: "bad-specifier", args: []string{"http=2", "pub"}, wantCode: 1},
		{name: "empty-replicas", args: []string{"http="}, wantCode: 1},
		{name: "no-argument", wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(httpService(), pubService(), agentService())
			res := clitest.Run(d.conn(), nouns, append([]string{"service", "scale"}, tt.args...)...)
			if res.Code != tt.wantCode {
				t.Errorf("exit %d, want %d", res.Code, tt.wantCode)
			}
			clitest.Golden(t, "scale-"+tt.name, "stdout:\n"+res.Stdout+"stderr:\n"+res.Stderr)
		})
	}
}

func TestScaleSendsOneRequestPerService(t *testing.T) {
	conn := newDaemon(httpService(), pubService()).conn()
	if res := clitest.Run(conn, nouns, "service", "scale", "-d", "http=5", "pub=0"); res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	var scaled []string
	for _, req := range conn.Requests {
		if s := req.GetServiceScale(); s != nil {
			scaled = append(scaled, s.GetRef()+"="+map[uint64]string{5: "5", 0: "0"}[s.GetReplicas()])
		}
	}
	if len(scaled) != 2 || scaled[0] != httpID+"=5" || scaled[1] != pubID+"=0" {
		t.Errorf("scale requests %q", scaled)
	}
}
