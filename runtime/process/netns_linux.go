package process

import (
	"os/exec"

	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/tunnel/taskns"
)

// command is how prog starts: directly, or, for a task on overlay
// networks, through swarmd's init step, which enters the task's network
// namespace with its resolv.conf before it executes prog.
func command(s task.Spec, prog string) *exec.Cmd {
	if s.NetNS.Path == "" {
		cmd := exec.Command(prog, s.Args...)
		cmd.Args[0] = s.Image
		cmd.SysProcAttr = procAttr()
		return cmd
	}
	cmd := taskns.Command(s.NetNS.Path, s.NetNS.ResolvConf, append([]string{prog}, s.Args...))
	attr := procAttr()
	attr.Cloneflags = cmd.SysProcAttr.Cloneflags
	cmd.SysProcAttr = attr
	return cmd
}
