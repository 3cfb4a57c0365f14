//go:build !linux

package process

import (
	"os/exec"

	"github.com/actorswarm/swarm/actors/task"
)

// command is how prog starts; overlay networks are Linux only (the node
// refuses such tasks before they get here).
func command(s task.Spec, prog string) *exec.Cmd {
	cmd := exec.Command(prog, s.Args...)
	cmd.Args[0] = s.Image
	cmd.SysProcAttr = procAttr()
	return cmd
}
