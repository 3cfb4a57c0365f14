package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func TestHeaderName(t *testing.T) {
	for field, want := range map[string]string{
		"ID":            "ID",
		"Hostname":      "HOSTNAME",
		"ManagerStatus": "MANAGER STATUS",
		"EngineVersion": "ENGINE VERSION",
		"TLSStatus":     "TLS STATUS",
		"DesiredState":  "DESIRED STATE",
		"NetworkID":     "NETWORK ID",
	} {
		if got := cli.HeaderName(field); got != want {
			t.Errorf("HeaderName(%q) = %q, want %q", field, got, want)
		}
	}
}

type row struct {
	ID      string
	Name    string
	Mine    bool   `header:""`
	Created string `header:"CREATED AT"`
	private string
}

var rows = []row{
	{ID: "gujo969xnzkr", Name: "http", Mine: true, Created: "yesterday"},
	{ID: "w7zbifxbghkj", Name: "pub", Created: "today", private: "x"},
}

func TestWriteFormatted(t *testing.T) {
	tests := []struct {
		name, format string
	}{
		{"table", `table {{.ID}}{{if .Mine}} *{{end}}\t{{.Name}}\t{{.Created}}`},
		{"unknown-field", "table {{.ID}}\t{{.Name}}\t{{.Private}}"},
		{"plain", "{{.Name}}: {{.ID}}"},
		{"newline-escape", `{{.ID}}\n  {{.Name}}`},
		{"json", "{{json .}}"},
		{"functions", `{{upper .Name}} {{title "a b"}} {{truncate .ID 4}} [{{pad .Name 1 2}}] {{join (split "x,y" ",") "+"}} {{lower "ABC"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := cli.WriteFormatted(&out, tt.format, rows)
			if tt.name == "unknown-field" {
				// .Private is not a field: the header runs, the rows fail.
				if err == nil || !strings.Contains(err.Error(), "can't evaluate field Private") || out.Len() != 0 {
					t.Fatalf("err %v, printed %q", err, out.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			clitest.Golden(t, "format-"+tt.name, out.String())
		})
	}
}

func TestWriteFormattedEmptyTableKeepsHeader(t *testing.T) {
	var out bytes.Buffer
	if err := cli.WriteFormatted(&out, `table {{.ID}}\t{{.Name}}`, []row(nil)); err != nil {
		t.Fatal(err)
	}
	if want := "ID        NAME\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestWriteFormattedJSONOfProto(t *testing.T) {
	var out bytes.Buffer
	spec := &swarmv1.NodeSpec{Availability: swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN, Labels: map[string]string{"b": "<2>", "a": "1"}}
	if err := cli.WriteFormatted(&out, "{{json .}}", []*swarmv1.NodeSpec{spec}); err != nil {
		t.Fatal(err)
	}
	if want := `{"availability":"NODE_AVAILABILITY_DRAIN","labels":{"a":"1","b":"<2>"}}` + "\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestWriteFormattedBadTemplate(t *testing.T) {
	var out bytes.Buffer
	err := cli.WriteFormatted(&out, "{{.ID", rows)
	if err == nil || !strings.HasPrefix(err.Error(), "template parsing error: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestListFormat(t *testing.T) {
	const def = "table {{.ID}}\t{{.Name}}"
	tests := []struct {
		format string
		quiet  bool
		want   string
	}{
		{"", false, def},
		{"", true, "{{.ID}}"},
		{"table", false, def},
		{"table", true, "{{.ID}}"},
		{"json", false, "{{json .}}"},
		{"{{.Name}}", true, "{{.Name}}"},
		{"table {{.Name}}", true, "table {{.Name}}"},
	}
	for _, tt := range tests {
		if got := cli.ListFormat(tt.format, tt.quiet, def); got != tt.want {
			t.Errorf("ListFormat(%q, %v) = %q, want %q", tt.format, tt.quiet, got, tt.want)
		}
	}
}

// TestWriteFormattedMatchesDocker prints the `docker service ls` table of
// /work/shared/reference/docker-20.10-outputs.txt: same alignment, and the
// same trailing padding before an empty last column.
func TestWriteFormattedMatchesDocker(t *testing.T) {
	type service struct{ ID, Name, Mode, Replicas, Image, Ports string }
	services := []service{
		{"gujo969xnzkr", "http", "replicated", "2/2", "local/busybox:2", ""},
		{"w7zbifxbghkj", "pub", "replicated", "1/1", "local/busybox:2", ""},
	}
	const want = "ID             NAME      MODE         REPLICAS   IMAGE             PORTS\n" +
		"gujo969xnzkr   http      replicated   2/2        local/busybox:2   \n" +
		"w7zbifxbghkj   pub       replicated   1/1        local/busybox:2   \n"
	var out bytes.Buffer
	if err := cli.WriteFormatted(&out, `table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}`, services); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", out.String(), want)
	}
}
