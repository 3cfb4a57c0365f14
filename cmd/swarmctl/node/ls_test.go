package node

import (
	"bytes"
	"strings"
	"testing"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func TestWriteList(t *testing.T) {
	tests := []struct {
		name    string
		quiet   bool
		format  string
		filters []string
	}{
		{name: "default"},
		{name: "quiet", quiet: true},
		{name: "format-table", format: `table {{.ID}}\t{{.Hostname}}`},
		{name: "format-table-manager-status", format: `table {{.Hostname}}\t{{.ManagerStatus}}\t{{.EngineVersion}}`},
		{name: "format-plain", format: "{{.Hostname}}"},
		{name: "format-json", format: "json"},
		{name: "format-quiet-ignored", format: "{{.Hostname}}", quiet: true},
		{name: "filter-id", filters: []string{"id=doc"}},
		{name: "filter-name", filters: []string{"name=node-1"}},
		{name: "filter-hostname", filters: []string{"hostname=edge"}},
		{name: "filter-role-manager", filters: []string{"role=manager"}},
		{name: "filter-role-worker", filters: []string{"role=worker"}},
		{name: "filter-membership-accepted", filters: []string{"membership=accepted"}},
		{name: "filter-membership-pending", filters: []string{"membership=pending"}},
		{name: "filter-node-label-key", filters: []string{"node.label=zone"}},
		{name: "filter-node-label-value", filters: []string{"node.label=zone=a"}},
		{name: "filter-label", filters: []string{"label=ssd"}},
		{name: "filter-or", filters: []string{"name=node-3", "name=edge"}},
		{name: "filter-and", filters: []string{"role=worker", "node.label=zone=a"}},
		{name: "filter-quiet", filters: []string{"role=manager"}, quiet: true},
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
			if err := writeList(&out, testNodeList(), opts); err != nil {
				t.Fatal(err)
			}
			clitest.Golden(t, "ls-"+tt.name, out.String())
		})
	}
}

func TestWriteListRejectsBadFilters(t *testing.T) {
	tests := []struct {
		filter string
		want   string
	}{
		{"status=ready", "invalid filter 'status'"},
		{"role=boss", "invalid filter 'role=boss': want manager or worker"},
		{"membership=maybe", "invalid filter 'membership=maybe': want accepted or pending"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			opts := &listOptions{}
			if err := opts.filter.Set(tt.filter); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := writeList(&out, testNodeList(), opts)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q before failing", out.String())
			}
		})
	}
}

func TestWriteListBadTemplate(t *testing.T) {
	var out bytes.Buffer
	err := writeList(&out, testNodeList(), &listOptions{format: "{{.Nope}}"})
	if err == nil || !strings.HasPrefix(err.Error(), "template parsing error: ") || !strings.Contains(err.Error(), "Nope") {
		t.Fatalf("error = %v, want a template error naming the field", err)
	}
}

// TestWriteListMatchesDocker renders the single-node swarm of
// /work/shared/reference/docker-20.10-outputs.txt: the output must be what
// `docker node ls` printed there, byte for byte.
func TestWriteListMatchesDocker(t *testing.T) {
	const id = "k3olwtdqx9xkisqb4ldl2jqsg"
	n := testNode(id, "vm", "192.168.1.5", swarmv1.NodeRole_NODE_ROLE_MANAGER, swarmv1.NodeState_NODE_STATE_READY, swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE, nil)
	n.Description.EngineVersion = "20.10.24+dfsg1"
	r := &swarmv1.NodeListResponse{Nodes: []*swarmv1.Node{n}, SelfId: id, LeaderId: id}
	const want = "ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n" +
		"k3olwtdqx9xkisqb4ldl2jqsg *   vm         Ready     Active         Leader           20.10.24+dfsg1\n"
	var out bytes.Buffer
	if err := writeList(&out, r, &listOptions{}); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
