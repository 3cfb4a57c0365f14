package service

import (
	"bytes"
	"testing"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func testServiceList() *swarmv1.ServiceListResponse {
	return &swarmv1.ServiceListResponse{Services: []*swarmv1.ServiceSummary{
		{Service: webService(), Running: 4, Desired: 6},
		{Service: pubService(), Running: 1, Desired: 1},
		{Service: agentService(), Running: 2, Desired: 3},
		{Service: httpService(), Running: 2, Desired: 2},
	}}
}

func TestWriteList(t *testing.T) {
	tests := []struct {
		name    string
		quiet   bool
		format  string
		filters []string
	}{
		{name: "default"},
		{name: "quiet", quiet: true},
		{name: "format-json", format: "json"},
		{name: "format-table", format: `table {{.Name}}\t{{.Replicas}}`},
		{name: "filter-name", filters: []string{"name=h"}},
		{name: "filter-id", filters: []string{"id=3nk", "id=9x8"}},
		{name: "filter-mode-global", filters: []string{"mode=global"}},
		{name: "filter-label", filters: []string{"label=tier=front"}},
		{name: "filter-label-key", filters: []string{"label=canary"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := &listOptions{quiet: tt.quiet, format: tt.format}
			for _, f := range tt.filters {
				if err := opts.filter.Set(f); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			if err := writeList(&out, testServiceList(), opts); err != nil {
				t.Fatal(err)
			}
			clitest.Golden(t, "ls-"+tt.name, out.String())
		})
	}
}

func TestWriteListRejectsBadFilters(t *testing.T) {
	for filter, want := range map[string]string{
		"mode=job":       "invalid filter 'mode=job': want replicated or global",
		"runtime=docker": "invalid filter 'runtime'",
	} {
		opts := &listOptions{}
		if err := opts.filter.Set(filter); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := writeList(&out, testServiceList(), opts); err == nil || err.Error() != want || out.Len() != 0 {
			t.Errorf("%s: err %v, printed %q; want %q", filter, err, out.String(), want)
		}
	}
}

// The `docker service ls` of /work/shared/reference/docker-20.10-outputs.txt,
// byte for byte: pub publishes a host-mode port, which service ls leaves
// out.
func TestWriteListMatchesDocker(t *testing.T) {
	r := &swarmv1.ServiceListResponse{Services: []*swarmv1.ServiceSummary{
		{Service: pubService(), Running: 1, Desired: 1},
		{Service: httpService(), Running: 2, Desired: 2},
	}}
	const want = "ID             NAME      MODE         REPLICAS   IMAGE             PORTS\n" +
		"gujo969xnzkr   http      replicated   2/2        local/busybox:2   \n" +
		"w7zbifxbghkj   pub       replicated   1/1        local/busybox:2   \n"
	var out bytes.Buffer
	if err := writeList(&out, r, &listOptions{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestIngressPorts(t *testing.T) {
	const (
		udp  = swarmv1.Protocol_PROTOCOL_UDP
		host = swarmv1.PublishMode_PUBLISH_MODE_HOST
	)
	port := func(published, target uint32) *swarmv1.PortConfig {
		return &swarmv1.PortConfig{PublishedPort: published, TargetPort: target}
	}
	tests := []struct {
		name  string
		ports []*swarmv1.PortConfig
		want  string
	}{
		{"none", nil, ""},
		{"one", []*swarmv1.PortConfig{port(80, 80)}, "*:80->80/tcp"},
		{"range", []*swarmv1.PortConfig{port(81, 81), port(80, 80), port(82, 82)}, "*:80-82->80-82/tcp"},
		{"many to one", []*swarmv1.PortConfig{port(80, 80), port(81, 80)}, "*:80-81->80/tcp"},
		{"range then back", []*swarmv1.PortConfig{port(80, 80), port(81, 81), port(82, 80)}, "*:80-81->80-81/tcp, *:82->80/tcp"},
		{"gap", []*swarmv1.PortConfig{port(80, 80), port(8080, 80)}, "*:80->80/tcp, *:8080->80/tcp"},
		{"udp after tcp", []*swarmv1.PortConfig{{PublishedPort: 53, TargetPort: 53, Protocol: udp}, port(53, 53)}, "*:53->53/tcp, *:53->53/udp"},
		{"host left out", []*swarmv1.PortConfig{{PublishedPort: 8090, TargetPort: 8080, Mode: host}, port(80, 80)}, "*:80->80/tcp"},
		{"not allocated yet", []*swarmv1.PortConfig{port(0, 80)}, ""},
	}
	for _, tt := range tests {
		if got := ingressPorts(tt.ports); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
