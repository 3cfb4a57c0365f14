package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/internal/clock"
)

const (
	// DefaultLogLines is how many output lines an instance keeps when
	// Config.LogLines is zero.
	DefaultLogLines = 1000
	// MaxLineBytes is where a longer output line is cut; the rest of it,
	// up to its newline, is dropped.
	MaxLineBytes = 16 << 10
	// defaultPath is the PATH of a task when neither Config.Path nor
	// swarmd's environment gives one (docker's default).
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// ErrNotFound is wrapped by the error of a Start whose program is not in
// the task's PATH.
var ErrNotFound = errors.New("not found in PATH")

// Config configures a process Runtime. The zero value works.
type Config struct {
	// Dir holds one directory per running task (its working directory and
	// HOME). Default: $TMPDIR/actorswarm-tasks. Created on first use.
	Dir string
	// LogLines is how many output lines each instance keeps (default
	// DefaultLogLines).
	LogLines int
	// Path is the PATH tasks get and in which programs are looked up,
	// unless the task's env sets its own PATH. Default: swarmd's PATH.
	Path string
	// Clock stamps output lines. Default: the real clock.
	Clock clock.Clock
}

// Validate reports a config that New would have to correct.
func (c Config) Validate() error {
	if c.LogLines < 0 {
		return fmt.Errorf("process runtime: log lines %d < 0", c.LogLines)
	}
	if c.Dir != "" && !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("process runtime: task directory %q is not absolute", c.Dir)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Dir == "" {
		c.Dir = filepath.Join(os.TempDir(), "actorswarm-tasks")
	}
	if c.LogLines <= 0 {
		c.LogLines = DefaultLogLines
	}
	if c.Path == "" {
		c.Path = os.Getenv("PATH")
	}
	if c.Path == "" {
		c.Path = defaultPath
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// Runtime starts tasks as host processes. It holds no state of its own
// besides its config and is safe for concurrent use.
type Runtime struct {
	cfg Config
}

var _ task.Runtime = (*Runtime)(nil)

// New returns a process runtime. It does no I/O; zero or invalid fields of
// cfg fall back to their defaults (see Config.Validate).
func New(cfg Config) *Runtime {
	return &Runtime{cfg: cfg.withDefaults()}
}

// Start looks the program up, creates the task's directory and starts the
// program there. It returns once the process runs, or the reason it could
// not start: an unknown program fails at once, before any directory is
// made. ctx only bounds the wait to begin: the task lives until it exits
// or is stopped.
func (r *Runtime) Start(ctx context.Context, s task.Spec) (task.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := envValue(s.Env, "PATH", r.cfg.Path)
	prog, err := lookPath(s.Image, path)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("task directory: %w", err)
	}
	dir, err := os.MkdirTemp(r.cfg.Dir, dirPrefix(s.TaskID))
	if err != nil {
		return nil, fmt.Errorf("task directory: %w", err)
	}
	in, err := start(s, prog, dir, taskEnv(s, dir, r.cfg.Path), path, newRing(r.cfg.LogLines), r.cfg.Clock)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", s.Image, err)
	}
	return in, nil
}

// lookPath finds the program a task's image names: an absolute path is
// taken as is, a bare name is searched in path, a relative path is refused
// (relative to what? the task directory is new and empty).
func lookPath(name, path string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("no program: the task's image is empty")
	case filepath.IsAbs(name):
		if err := executable(name); err != nil {
			return "", fmt.Errorf("program %q: %w", name, err)
		}
		return name, nil
	case strings.ContainsRune(name, '/'):
		return "", fmt.Errorf("program %q: a path must be absolute", name)
	}
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue // "" or "." would mean swarmd's own working directory
		}
		p := filepath.Join(dir, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("program %q %w", name, ErrNotFound)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return errors.New("is a directory")
	case fi.Mode().Perm()&0o111 == 0:
		return fs.ErrPermission
	}
	return nil
}

// taskEnv is the environment of a task and of the commands run in it:
// PATH and HOME, then what task.Env adds (a service sets its hostname with
// Spec.Hostname).
func taskEnv(s task.Spec, dir, path string) []string {
	return task.Env(s, "PATH="+path, "HOME="+dir)
}

// envValue is the last value of key in env, or def.
func envValue(env []string, key, def string) string {
	v := def
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// dirPrefix names a task's directory after its short ID, keeping only
// characters that are safe in a file name.
func dirPrefix(taskID string) string {
	id := []byte(task.ShortID(taskID))
	for i, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			id[i] = '_'
		}
	}
	if len(id) == 0 {
		return "task-"
	}
	return string(id) + "-"
}
