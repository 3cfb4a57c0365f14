package service

import (
	"testing"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
)

func TestRemove(t *testing.T) {
	d := newDaemon(httpService(), pubService())
	d.refuse = map[string]string{"pub": "service pub is busy"}
	conn := d.conn()
	res := clitest.Run(conn, nouns, "service", "rm", "http", "nope", "pub", "gujo969")
	if res.Code != 1 || res.Stdout != "http\ngujo969\n" ||
		res.Stderr != "Error response from daemon: no such service: nope\nError response from daemon: service pub is busy\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	if len(conn.Requests) != 4 {
		t.Errorf("%d requests, want one per service", len(conn.Requests))
	}
}

func TestRollback(t *testing.T) {
	res := clitest.Run(newDaemon(httpService()).conn(), nouns, "service", "rollback", "-d", "http")
	if res.Code != 0 || res.Stdout != "http\n" {
		t.Errorf("detach: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	res = clitest.Run(newDaemon(httpService()).conn(), nouns, "service", "rollback", "http")
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	clitest.Golden(t, "rollback-progress", res.Stdout)
	res = clitest.Run(newDaemon().conn(), nouns, "service", "rollback", "nope")
	if res.Code != 1 || res.Stderr != "Error response from daemon: no such service: nope\n" {
		t.Errorf("unknown service: exit %d, stderr %q", res.Code, res.Stderr)
	}
}
