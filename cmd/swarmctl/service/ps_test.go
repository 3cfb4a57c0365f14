package service

import (
	"testing"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
)

func TestPs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "one", args: []string{"http"}},
		{name: "several", args: []string{"http", "pub", "gujo"}},
		{name: "global", args: []string{"agent"}},
		{name: "quiet", args: []string{"-q", "http"}},
		{name: "no-trunc", args: []string{"--no-trunc", "http"}},
		{name: "filter", args: []string{"--filter", "name=http.2", "http"}},
		{name: "not-found", args: []string{"http", "nope", "none"}, wantCode: 1},
		{name: "none-found", args: []string{"nope"}, wantCode: 1},
		{name: "bad-filter", args: []string{"--filter", "desired-state=gone", "http"}, wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDaemon(httpService(), pubService(), agentService())
			res := clitest.Run(d.conn(), nouns, append([]string{"service", "ps"}, tt.args...)...)
			if res.Code != tt.wantCode {
				t.Errorf("exit %d, want %d", res.Code, tt.wantCode)
			}
			clitest.Golden(t, "ps-"+tt.name, "stdout:\n"+res.Stdout+"stderr:\n"+res.Stderr)
		})
	}
}
