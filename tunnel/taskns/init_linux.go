package taskns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// initArg is the hidden first argument that makes MaybeRunInit take over.
const initArg = "__actorswarm_task_init"

// ExitInitFailed is the exit status of a Command whose init step failed
// (the reason is on its standard error) or whose program was not found.
const ExitInitFailed = 127

// Command returns a command that runs argv (argv[0] looked up in PATH) in
// the network namespace bound at nsPath, with the file resolvConf bind
// mounted over /etc/resolv.conf in a mount namespace of its own, so that
// the host's files are not changed. An empty nsPath keeps the current
// network namespace; an empty resolvConf keeps /etc/resolv.conf.
//
// The command re-executes the current binary, which must call MaybeRunInit
// first thing in main. The caller sets Env, Dir, Stdout and the like as
// usual: the program gets Env and Dir; relative paths in nsPath and
// resolvConf are taken relative to the caller's directory. SysProcAttr
// holds CLONE_NEWNS and must be kept if changed. Args[0] is the current
// binary; Args[1] the hidden init argument. Errors found before the start
// are in Err and returned by Start.
func Command(nsPath, resolvConf string, argv []string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	cmd := &exec.Cmd{
		Path:        self,
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS},
	}
	if nsPath != "" {
		nsPath, err = filepath.Abs(nsPath)
	}
	if resolvConf != "" && err == nil {
		resolvConf, err = filepath.Abs(resolvConf)
	}
	if len(argv) == 0 && err == nil {
		err = errors.New("no program")
	}
	if err != nil {
		cmd.Err = fmt.Errorf("taskns: command: %w", err)
	}
	cmd.Args = append([]string{self, initArg, nsPath, resolvConf}, argv...)
	return cmd
}

// MaybeRunInit returns at once unless the process was started by Command.
// Then it does the init step and replaces the process with the program,
// or writes why it cannot to standard error and exits with ExitInitFailed:
// it never returns. Call it first thing in main, before starting anything.
func MaybeRunInit() {
	if len(os.Args) < 2 || os.Args[1] != initArg {
		return
	}
	err := runInit(os.Args[2:])
	fmt.Fprintf(os.Stderr, "taskns init: %v\n", err)
	os.Exit(ExitInitFailed)
}

// runInit does the init step for the arguments nsPath, resolvConf and the
// program's argv, and returns only on failure.
func runInit(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: nsPath resolvConf program [arg...]")
	}
	nsPath, resolvConf, argv := args[0], args[1], args[2:]
	prog, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	if err := checkOwnMountNS(); err != nil {
		return err
	}
	// Without this, the bind mount would propagate to the peer mounts of
	// the host's namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	if resolvConf != "" {
		if err := unix.Mount(resolvConf, "/etc/resolv.conf", "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s on /etc/resolv.conf: %w", resolvConf, err)
		}
	}
	if nsPath != "" {
		// setns(CLONE_NEWNET) moves the calling thread only; execve keeps
		// the namespace of the thread that calls it, which locking makes
		// this one.
		runtime.LockOSThread()
		fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open network namespace %s: %w", nsPath, err)
		}
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("enter network namespace %s: %w", nsPath, err)
		}
	}
	return syscall.Exec(prog, argv, os.Environ())
}

// checkOwnMountNS refuses to go on in the parent's mount namespace (the
// hidden argument passed by hand, or CLONE_NEWNS dropped from SysProcAttr),
// where the mounts below would change the host's view of its files.
func checkOwnMountNS() error {
	own, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	parent, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", os.Getppid()))
	if err != nil {
		return err
	}
	if own == parent {
		return errors.New("not in a mount namespace of its own (start it with Command)")
	}
	return nil
}
