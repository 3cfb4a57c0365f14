package service

import (
	"bytes"
	"testing"
	"time"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// The two `docker service inspect --pretty` of
// /work/shared/reference/docker-20.10-outputs.txt, byte for byte, for the
// specs `service create` makes from the same command lines.
func TestPrettyMatchesDocker(t *testing.T) {
	const common = "Placement:\n" +
		"UpdateConfig:\n" +
		" Parallelism:\t1\n" +
		" On failure:\tpause\n" +
		" Monitoring Period: 5s\n" +
		" Max failure ratio: 0\n" +
		" Update order:      stop-first\n" +
		"RollbackConfig:\n" +
		" Parallelism:\t1\n" +
		" On failure:\tpause\n" +
		" Monitoring Period: 5s\n" +
		" Max failure ratio: 0\n" +
		" Rollback order:    stop-first\n" +
		"ContainerSpec:\n" +
		" Image:\t\tlocal/busybox:2\n" +
		" Args:\t\tsh -c echo ok > /www/index.html; exec httpd -f -p 8080 -h /www \n" +
		" Init:\t\tfalse\n" +
		"Resources:\n" +
		"Endpoint Mode:\tvip\n"
	tests := []struct {
		svc  *swarmv1.Service
		want string
	}{
		{httpService(), "\nID:\t\tgujo969xnzkru2qa12rq1zo6j\nName:\t\thttp\nService Mode:\tReplicated\n Replicas:\t2\n" + common + "\n"},
		{pubService(), "\nID:\t\tw7zbifxbghkji34xlayks7rnp\nName:\t\tpub\nService Mode:\tReplicated\n Replicas:\t1\n" + common +
			"Ports:\n PublishedPort = 8090\n  Protocol = tcp\n  TargetPort = 8080\n  PublishMode = host \n\n"},
	}
	for _, tt := range tests {
		if got := pretty(tt.svc, clitest.Now()); got != tt.want {
			t.Errorf("got:\n%q\nwant:\n%q", got, tt.want)
		}
	}
}

func TestWriteInspect(t *testing.T) {
	updating := httpService()
	updating.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateState_UPDATE_STATE_UPDATING, StartedUnixNano: clitest.Now().Add(-90 * time.Second).UnixNano(), Message: "update in progress"}
	tests := []struct {
		name     string
		services []*swarmv1.Service
		opts     inspectOptions
	}{
		{"pretty-full", []*swarmv1.Service{webService()}, inspectOptions{pretty: true}},
		{"pretty-global", []*swarmv1.Service{agentService()}, inspectOptions{pretty: true}},
		{"pretty-several", []*swarmv1.Service{httpService(), pubService()}, inspectOptions{pretty: true}},
		{"pretty-updating", []*swarmv1.Service{updating}, inspectOptions{pretty: true}},
		{"json", []*swarmv1.Service{httpService(), pubService()}, inspectOptions{}},
		{"json-none", nil, inspectOptions{}},
		{"format", []*swarmv1.Service{httpService(), webService()}, inspectOptions{format: "{{.Spec.Name}} {{.Spec.Replicas}} {{json .Spec.Task.Placement}}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := writeInspect(&out, tt.services, tt.opts, clitest.Now()); err != nil {
				t.Fatal(err)
			}
			clitest.Golden(t, "inspect-"+tt.name, out.String())
		})
	}
}

func TestInspectCommand(t *testing.T) {
	res := clitest.Run(newDaemon(httpService()).conn(), nouns, "service", "inspect", "--pretty", "http", "nope")
	if res.Code != 1 || res.Stderr != "Error response from daemon: no such service: nope\n" || res.Stdout != pretty(httpService(), clitest.Now()) {
		t.Errorf("exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	res = clitest.Run(newDaemon(httpService()).conn(), nouns, "service", "inspect", "--pretty", "--format", "{{.Id}}", "http")
	if res.Code != 1 || res.Stderr != "--format is incompatible with human friendly format\n" {
		t.Errorf("exit %d, stderr %q", res.Code, res.Stderr)
	}
}
