package service

import (
	"testing"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
)

func TestHelp(t *testing.T) {
	for _, verb := range []string{"", "create", "update", "ls", "ps", "inspect", "scale", "rollback", "rm", "logs"} {
		name := "help-service"
		args := []string{"service"}
		if verb != "" {
			name += "-" + verb
			args = append(args, verb, "--help")
		}
		t.Run(name, func(t *testing.T) {
			res := clitest.Run(newDaemon().conn(), nouns, args...)
			if res.Code != 0 || res.Stderr != "" {
				t.Fatalf("exit %d, stderr %q", res.Code, res.Stderr)
			}
			clitest.Golden(t, name, res.Stdout)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := map[string][]string{
		"\"swarmctl service ps\" requires at least 1 argument.\nSee 'swarmctl service ps --help'.\n\nUsage:  swarmctl service ps [OPTIONS] SERVICE [SERVICE...]\n\nList the tasks of one or more services\n": {"service", "ps"},
		"\"swarmctl service update\" requires exactly 1 argument.\nSee 'swarmctl service update --help'.\n\nUsage:  swarmctl service update [OPTIONS] SERVICE\n\nUpdate a service\n":                         {"service", "update", "a", "b"},
		"unknown command \"start\" for \"swarmctl service\"\nSee 'swarmctl service --help'.\n":                                                                                                               {"service", "start"},
	}
	for want, args := range tests {
		res := clitest.Run(newDaemon().conn(), nouns, args...)
		if res.Code != 1 || res.Stderr != want {
			t.Errorf("%v: exit %d, stderr %q, want %q", args, res.Code, res.Stderr, want)
		}
	}
}
